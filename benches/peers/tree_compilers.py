"""Tree compilers as peers of the compiled evaluator: lleaves (LLVM) and tl2cgen (C through
treelite), on the same LightGBM model files and rows, one thread each.

    python tree_compilers.py DIR

DIR holds `rows.csv` (one row per line, features only) and, per model NAME, `NAME.txt` (the
LightGBM model) and `NAME.expected` (LightGBM's prediction per row). Prints one JSON object per
(model, peer): rows per second (best of 5 runs over all rows) and the largest difference from
LightGBM, or why the peer could not run the model. The inference benchmark runs it; see
`benches/inference.rs`. Needs `lleaves==1.3.*`, `llvmlite==0.44.*`, `tl2cgen==1.0.*` and
`treelite==4.1.2`.
"""

import json
import pathlib
import sys
import tempfile
import time

import numpy as np


def best_rate(predict, rows, runs=5):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        out = predict(rows)
        best = min(best, time.perf_counter() - start)
    return len(rows) / best, np.asarray(out, dtype=np.float64).reshape(-1)


def lleaves_peer(model, rows, work):
    import lleaves

    # lleaves wants the `pandas_categorical:` line that Python's LightGBM appends on save (the
    # C API's text lacks it); it says no pandas categories were used.
    text = model.read_text()
    if "pandas_categorical:" not in text:
        model = work / model.name
        model.write_text(text.rstrip("\n") + "\n\npandas_categorical:null\n")
    m = lleaves.Model(model_file=str(model))
    m.compile(cache=str(work / f"{model.stem}.lleaves.o"))
    return best_rate(lambda r: m.predict(r, n_jobs=1), rows)


def tl2cgen_peer(model, rows, work):
    import tl2cgen
    import treelite

    tm = treelite.frontend.load_lightgbm_model(str(model))
    lib = work / f"{model.stem}.tl2cgen.so"
    tl2cgen.export_lib(tm, toolchain="gcc", libpath=str(lib), params={"parallel_comp": 8})
    predictor = tl2cgen.Predictor(str(lib), nthread=1)
    return best_rate(lambda r: predictor.predict(tl2cgen.DMatrix(r)), rows)


def main():
    folder = pathlib.Path(sys.argv[1])
    rows = np.loadtxt(folder / "rows.csv", delimiter=",", ndmin=2)
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        for model in sorted(folder.glob("*.txt")):
            expected = np.loadtxt(model.with_suffix(".expected"))
            for name, peer in [("lleaves", lleaves_peer), ("tl2cgen", tl2cgen_peer)]:
                result = {"model": model.stem, "peer": name}
                try:
                    rate, out = peer(model, rows, work)
                    result["rows_per_s"] = round(rate)
                    result["max_abs_diff"] = float(np.max(np.abs(out - expected)))
                except Exception as e:  # a peer that refuses a model is a result too
                    result["error"] = f"{type(e).__name__}: {e}".splitlines()[0][:200]
                print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
