//! LightGBM's own predictor behind a safe, thread-safe handle.

use super::error::{check_shape, ModelError};
use super::predictor::Predictor;
use lightgbm3_sys as sys;
use std::ffi::{c_void, CStr, CString};
use std::os::raw::c_int;

/// Prediction parameters: one thread, so that throughput is per core and callers decide
/// how to spread work over cores.
const PREDICT_PARAMS: &CStr = c"num_threads=1";

/// LightGBM's last error message (kept per thread by LightGBM).
fn last_error() -> String {
    // SAFETY: LGBM_GetLastError returns a pointer to a thread-local, NUL-terminated buffer.
    unsafe { CStr::from_ptr(sys::LGBM_GetLastError()) }.to_string_lossy().trim().to_string()
}

/// Turns a C API return code into a `ModelError` carrying LightGBM's message.
fn check(code: c_int, call: &'static str) -> Result<(), ModelError> {
    if code == 0 {
        Ok(())
    } else {
        Err(ModelError::LightGbm { call, message: last_error() })
    }
}

/// A LightGBM booster loaded from model text, predicting through LightGBM itself.
pub struct LightgbmModel {
    booster: sys::BoosterHandle,
    /// Prepared single-row predictor for `predict_one`.
    fast: sys::FastConfigHandle,
    num_features: usize,
}

// SAFETY: the handles are owned (freed once, in Drop) and not tied to the creating thread.
unsafe impl Send for LightgbmModel {}
// SAFETY: only prediction is exposed through `&self`. LightGBM's batch prediction takes the
// booster's shared lock and builds a fresh predictor (with its own buffers) per call, and
// the single-row fast predictor serialises its calls with its own mutex.
unsafe impl Sync for LightgbmModel {}

impl LightgbmModel {
    /// Loads a model from LightGBM's model text; only single-output models are accepted.
    pub fn from_text(text: &str) -> Result<Self, ModelError> {
        let c_text = CString::new(text).map_err(|e| {
            let line = text[..e.nul_position()].matches('\n').count() + 1;
            ModelError::parse(line, "NUL byte in model text")
        })?;
        let mut booster: sys::BoosterHandle = std::ptr::null_mut();
        let mut iterations: c_int = 0;
        // SAFETY: `c_text` is NUL-terminated and outlives the call; the out pointers are valid.
        check(
            unsafe { sys::LGBM_BoosterLoadModelFromString(c_text.as_ptr(), &mut iterations, &mut booster) },
            "LGBM_BoosterLoadModelFromString",
        )?;
        // From here on Drop frees whatever was created, also on the error paths below.
        let mut model = LightgbmModel { booster, fast: std::ptr::null_mut(), num_features: 0 };

        let mut classes: c_int = 0;
        // SAFETY: `booster` is a valid handle; the out pointer is valid.
        check(unsafe { sys::LGBM_BoosterGetNumClasses(model.booster, &mut classes) }, "LGBM_BoosterGetNumClasses")?;
        if classes != 1 {
            return Err(ModelError::Unsupported(format!("{classes} classes; only single-output models are served")));
        }
        let mut features: c_int = 0;
        // SAFETY: as above.
        check(unsafe { sys::LGBM_BoosterGetNumFeature(model.booster, &mut features) }, "LGBM_BoosterGetNumFeature")?;
        model.num_features = usize::try_from(features).map_err(|_| ModelError::LightGbm {
            call: "LGBM_BoosterGetNumFeature",
            message: format!("{features} features"),
        })?;

        let mut fast: sys::FastConfigHandle = std::ptr::null_mut();
        // SAFETY: `booster` is valid, the parameter string is NUL-terminated and static.
        check(
            unsafe {
                sys::LGBM_BoosterPredictForMatSingleRowFastInit(
                    model.booster,
                    sys::C_API_PREDICT_NORMAL as c_int,
                    0,
                    -1,
                    sys::C_API_DTYPE_FLOAT64 as c_int,
                    features,
                    PREDICT_PARAMS.as_ptr(),
                    &mut fast,
                )
            },
            "LGBM_BoosterPredictForMatSingleRowFastInit",
        )?;
        model.fast = fast;
        Ok(model)
    }

    /// Number of features a row must have.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// Predicts `out.len()` rows of `rows` (row-major, `n_features` wide), single-threaded.
    pub fn predict(&self, rows: &[f64], n_features: usize, out: &mut [f64]) -> Result<(), ModelError> {
        check_shape(self.num_features, rows.len(), n_features, out.len())?;
        if out.is_empty() {
            return Ok(());
        }
        let n_rows = i32::try_from(out.len()).map_err(|_| ModelError::TooManyRows(out.len()))?;
        let mut out_len: i64 = 0;
        // SAFETY: `rows` holds n_rows × n_features f64 values, row-major, and `out` has room
        // for n_rows results (one per row for a single-output model); both outlive the call.
        check(
            unsafe {
                sys::LGBM_BoosterPredictForMat(
                    self.booster,
                    rows.as_ptr() as *const c_void,
                    sys::C_API_DTYPE_FLOAT64 as c_int,
                    n_rows,
                    n_features as i32,
                    1,
                    sys::C_API_PREDICT_NORMAL as c_int,
                    0,
                    -1,
                    PREDICT_PARAMS.as_ptr(),
                    &mut out_len,
                    out.as_mut_ptr(),
                )
            },
            "LGBM_BoosterPredictForMat",
        )?;
        debug_assert_eq!(out_len, i64::from(n_rows));
        Ok(())
    }

    /// Predicts one row with LightGBM's prepared single-row predictor.
    pub fn predict_one(&self, row: &[f64]) -> Result<f64, ModelError> {
        check_shape(self.num_features, row.len(), row.len(), 1)?;
        let mut out = 0.0f64;
        let mut out_len: i64 = 0;
        // SAFETY: `fast` was prepared for f64 rows of `num_features` values, which `row`
        // holds; `out` has room for the single output.
        check(
            unsafe {
                sys::LGBM_BoosterPredictForMatSingleRowFast(
                    self.fast,
                    row.as_ptr() as *const c_void,
                    &mut out_len,
                    &mut out,
                )
            },
            "LGBM_BoosterPredictForMatSingleRowFast",
        )?;
        Ok(out)
    }
}

impl Predictor for LightgbmModel {
    fn num_features(&self) -> usize {
        self.num_features
    }

    fn predict(&self, rows: &[f64], n_features: usize, out: &mut [f64]) -> Result<(), ModelError> {
        LightgbmModel::predict(self, rows, n_features, out)
    }
}

impl Drop for LightgbmModel {
    fn drop(&mut self) {
        // SAFETY: each handle was created by LightGBM, is freed once, and the fast config
        // (which refers to the booster) goes first.
        unsafe {
            if !self.fast.is_null() {
                sys::LGBM_FastConfigFree(self.fast);
            }
            sys::LGBM_BoosterFree(self.booster);
        }
    }
}

impl std::fmt::Debug for LightgbmModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LightgbmModel").field("num_features", &self.num_features).finish_non_exhaustive()
    }
}
