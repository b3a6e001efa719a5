"""Build the module of kernels compiled ahead of time (``gradstep.kernels.ahead``):
``python -m gradstep.kernels.ahead_build`` compiles it into this machine's
folder of the cache. Needs numba (its ahead-of-time compiler, ``numba.pycc``)
and a C compiler; runs in its own process, started by ``ahead.build_in_background``.
"""

from __future__ import annotations

from pathlib import Path

from gradstep.kernels import ahead


def build(directory: Path | None = None) -> Path:
    """Compile the module into ``directory`` (this machine's folder by default)
    and return the folder: built in a temporary folder beside it, then renamed
    into place, so that no process loads a half-written module."""
    import tempfile

    target = Path(directory) if directory is not None else ahead.module_directory()
    if target.is_dir() and any(target.glob(f"{ahead.MODULE_NAME}*.so")):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    _compile_module(work)
    try:
        work.rename(target)
    except OSError:  # another process finished first
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    ahead.prune(keep=target)
    return target


def _compile_module(directory: Path) -> None:
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba deprecates pycc; it still builds
        from numba.pycc import CC, compiler  # pycc's compiler module, whose Flags it reads

        flags = compiler.Flags

        class NumpyErrorModel(flags):
            """The JIT kernels' error_model: no zero-division check, which would
            stop LLVM from vectorizing the loops (same bits: no fastmath)."""

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.error_model = "numpy"

        compiler.Flags = NumpyErrorModel
        try:
            cc = CC(ahead.MODULE_NAME)
            cc.output_dir = str(directory)
            cc.target_cpu = "host"
            cc.verbose = False
            for name, (module_name, maker, maker_arguments, arguments) in ahead.KERNELS.items():
                module = importlib.import_module(f"gradstep.kernels.{module_name}")
                function = getattr(module, maker)(*maker_arguments).py_func
                for code in ahead.TYPES.values():
                    signature = f"void({', '.join(arguments).replace('F', code)})"
                    cc.export(ahead.export_name(name, code), signature)(function)
            cc.compile()
        finally:
            compiler.Flags = flags


def main() -> None:
    """Build this machine's module; on failure leave ``.failed`` beside its
    folder (with the error) so that no later process tries again; remove the
    ``.building`` lock either way."""
    directory = ahead.module_directory()
    try:
        print(f"gradstep: kernels compiled ahead of time in {build(directory)}", flush=True)
    except Exception as error:
        ahead.marker(directory, "failed").write_text(f"{type(error).__name__}: {error}\n")
        raise
    finally:
        ahead.marker(directory, "building").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
