//! Training one LightGBM booster through the C API, so that the dataset is created
//! with the parameters (lightgbm3's `Dataset` passes none, and `linear_tree` then crashes).

use lightgbm3_sys as sys;
use std::collections::HashSet;
use std::ffi::{c_void, CStr, CString};
use std::sync::OnceLock;

/// LightGBM's last error message.
fn last_error() -> String {
    // SAFETY: LGBM_GetLastError returns a pointer to a thread-local, NUL-terminated buffer.
    unsafe { CStr::from_ptr(sys::LGBM_GetLastError()) }.to_string_lossy().trim().to_string()
}

fn check(code: i32, what: &str) -> Result<(), String> {
    if code == 0 {
        Ok(())
    } else {
        Err(format!("LightGBM failed to {what}: {}", last_error()))
    }
}

/// Every parameter name and alias LightGBM knows.
pub fn known_params() -> &'static HashSet<String> {
    static KNOWN: OnceLock<HashSet<String>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut len: i64 = 0;
        let mut buf = vec![0u8; 1 << 16];
        // SAFETY: the buffer is valid for `buf.len()` bytes; LightGBM reports the needed length.
        unsafe {
            sys::LGBM_DumpParamAliases(buf.len() as i64, &mut len, buf.as_mut_ptr() as *mut _);
            if len as usize > buf.len() {
                buf = vec![0u8; len as usize];
                sys::LGBM_DumpParamAliases(buf.len() as i64, &mut len, buf.as_mut_ptr() as *mut _);
            }
        }
        let text = String::from_utf8_lossy(&buf[..(len as usize).saturating_sub(1).min(buf.len())]).into_owned();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let mut names = HashSet::new();
        if let Some(map) = json.as_object() {
            for (k, aliases) in map {
                names.insert(k.clone());
                for a in aliases.as_array().into_iter().flatten() {
                    if let Some(a) = a.as_str() {
                        names.insert(a.to_string());
                    }
                }
            }
        }
        names
    })
}

/// Owns a dataset handle.
struct Dataset(sys::DatasetHandle);

impl Drop for Dataset {
    fn drop(&mut self) {
        // SAFETY: the handle came from LGBM_DatasetCreateFromMat and is freed once.
        unsafe { sys::LGBM_DatasetFree(self.0) };
    }
}

/// Owns a booster handle.
struct Booster(sys::BoosterHandle);

impl Drop for Booster {
    fn drop(&mut self) {
        // SAFETY: the handle came from LGBM_BoosterCreate and is freed once.
        unsafe { sys::LGBM_BoosterFree(self.0) };
    }
}

/// Trains `iterations` rounds on row-major `rows` and returns LightGBM's model text.
pub fn train(
    rows: &[f64],
    labels: &[f64],
    n_features: usize,
    params: &str,
    iterations: usize,
) -> Result<String, String> {
    let n = labels.len();
    assert_eq!(rows.len(), n * n_features, "rows and labels disagree");
    let params_c = CString::new(params).map_err(|_| "parameters contain a NUL byte".to_string())?;
    let mut handle: sys::DatasetHandle = std::ptr::null_mut();
    // SAFETY: `rows` holds n × n_features f64 values, row-major; the params string outlives the call.
    check(
        unsafe {
            sys::LGBM_DatasetCreateFromMat(
                rows.as_ptr() as *const c_void,
                sys::C_API_DTYPE_FLOAT64 as i32,
                n as i32,
                n_features as i32,
                1,
                params_c.as_ptr(),
                std::ptr::null_mut(),
                &mut handle,
            )
        },
        "create the training dataset",
    )?;
    let dataset = Dataset(handle);
    let labels32: Vec<f32> = labels.iter().map(|&y| y as f32).collect();
    let field = CString::new("label").expect("static");
    // SAFETY: the label buffer holds n f32 values; LightGBM copies it.
    check(
        unsafe {
            sys::LGBM_DatasetSetField(
                dataset.0,
                field.as_ptr(),
                labels32.as_ptr() as *const c_void,
                n as i32,
                sys::C_API_DTYPE_FLOAT32 as i32,
            )
        },
        "set the labels",
    )?;
    let mut bh: sys::BoosterHandle = std::ptr::null_mut();
    // SAFETY: the dataset handle is live for the booster's lifetime (dropped after it).
    check(unsafe { sys::LGBM_BoosterCreate(dataset.0, params_c.as_ptr(), &mut bh) }, "create the booster")?;
    let booster = Booster(bh);
    for _ in 0..iterations {
        let mut finished = 0;
        // SAFETY: a live booster handle.
        check(unsafe { sys::LGBM_BoosterUpdateOneIter(booster.0, &mut finished) }, "train an iteration")?;
        if finished != 0 {
            break;
        }
    }
    let text = save(&booster)?;
    drop(booster);
    drop(dataset);
    Ok(text)
}

fn save(booster: &Booster) -> Result<String, String> {
    let mut len: i64 = 0;
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..2 {
        // SAFETY: the buffer is valid for its length; LightGBM reports the needed length.
        check(
            unsafe {
                sys::LGBM_BoosterSaveModelToString(
                    booster.0,
                    0,
                    -1,
                    sys::C_API_FEATURE_IMPORTANCE_SPLIT as i32,
                    buf.len() as i64,
                    &mut len,
                    buf.as_mut_ptr() as *mut _,
                )
            },
            "save the model",
        )?;
        if (len as usize) <= buf.len() {
            break;
        }
        buf = vec![0u8; len as usize];
    }
    let end = (len as usize).saturating_sub(1).min(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}
