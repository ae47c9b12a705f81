//! Which globals a pickle may import: an allowlist of known-safe ones (array and tensor
//! rebuilds, scikit-learn and PyTorch module classes, plain containers), with everything else
//! flagged. Known code-running globals get a specific reason; the rest are flagged as unknown,
//! because importing a module runs its code and calling an unknown global can do anything.

/// Exact `module.name` globals that only rebuild data.
const SAFE_GLOBALS: &[&str] = &[
    // Containers and plain values.
    "collections.OrderedDict",
    "collections.defaultdict",
    "collections.deque",
    "collections.Counter",
    "builtins.set",
    "builtins.frozenset",
    "builtins.list",
    "builtins.dict",
    "builtins.tuple",
    "builtins.bytearray",
    "builtins.bytes",
    "builtins.complex",
    "builtins.slice",
    "builtins.range",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.str",
    "builtins.object",
    "__builtin__.set",
    "__builtin__.frozenset",
    "__builtin__.list",
    "__builtin__.dict",
    "__builtin__.tuple",
    "__builtin__.bytearray",
    "__builtin__.complex",
    "__builtin__.slice",
    "__builtin__.object",
    "_codecs.encode",
    "copyreg._reconstructor",
    "copy_reg._reconstructor",
    "datetime.datetime",
    "datetime.date",
    "datetime.time",
    "datetime.timedelta",
    "datetime.timezone",
    "decimal.Decimal",
    "fractions.Fraction",
    "uuid.UUID",
    // Paths and partial application build objects; they call nothing on load.
    "pathlib.Path",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
    "pathlib.PurePath",
    "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath",
    "functools.partial",
    // NumPy arrays, scalars, dtypes and random states.
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer",
    "numpy.ma.core._mareconstruct",
    "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor",
    "numpy.random.mtrand.RandomState",
    "numpy.random._mt19937.MT19937",
    // joblib's array wrappers.
    "joblib.numpy_pickle.NumpyArrayWrapper",
    "joblib.numpy_pickle_compat.NDArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    // PyTorch tensor and storage rebuilds.
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor",
    "torch._tensor._rebuild_from_type_v2",
    "torch.nn.parameter.Parameter",
    "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage",
    "torch.Size",
    "torch.device",
    "torch.Tensor",
    // SciPy sparse matrices.
    "scipy.sparse._csr.csr_matrix",
    "scipy.sparse._csc.csc_matrix",
    "scipy.sparse._coo.coo_matrix",
    "scipy.sparse.csr.csr_matrix",
    "scipy.sparse.csc.csc_matrix",
    "scipy.sparse.coo.coo_matrix",
];

/// PyTorch dtypes and layouts, stored as `torch.<name>` globals.
const TORCH_VALUES: &[&str] = &[
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "half",
    "float",
    "double",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
    "complex64",
    "complex128",
    "strided",
    "sparse_coo",
    "long",
    "int",
];

/// Packages whose classes (a name starting with an upper-case letter, no attribute path) are
/// estimators or modules: constructing or restoring one runs no code of the pickle's choosing.
const SAFE_CLASS_PACKAGES: &[&str] = &["sklearn", "torch.nn.modules", "xgboost", "lightgbm", "catboost"];

/// Modules whose every global runs commands, code or reaches the system.
const DANGEROUS_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "posixpath",
    "ntpath",
    "subprocess",
    "_posixsubprocess",
    "sys",
    "socket",
    "shutil",
    "runpy",
    "pty",
    "commands",
    "webbrowser",
    "importlib",
    "code",
    "codeop",
    "ctypes",
    "multiprocessing",
    "pickle",
    "_pickle",
    "marshal",
    "dill",
    "cloudpickle",
    "asyncio",
    "http",
    "httplib",
    "urllib",
    "requests",
    "ftplib",
    "smtplib",
    "telnetlib",
    "tempfile",
    "platform",
    "signal",
    "threading",
    "_thread",
    "pdb",
    "bdb",
    "timeit",
    "profile",
    "cProfile",
    "trace",
    "io",
    "_io",
    "pydoc",
    "codecs",
    "zipimport",
    "builtins",
    "__builtin__",
    "__builtins__",
    "operator",
    "types",
    "functools",
    "inspect",
    "gc",
    "imp",
    "pkgutil",
    "distutils",
    "setuptools",
    "pip",
];

/// What allowing `module.name` on load means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// On the allowlist.
    Safe,
    /// Not on the allowlist; the reason names what it is.
    Flagged(String),
}

/// Classifies the global `name` of `module` (`name` may be an attribute path such as
/// `os.system`, which protocol 4 resolves attribute by attribute).
pub fn classify(module: &str, name: &str) -> Verdict {
    let full = format!("{module}.{name}");
    // torch.save names each storage's legacy type (torch.FloatStorage, ...) in its persistent id.
    let torch_storage_or_dtype = module == "torch" && (name.ends_with("Storage") && !name.contains('.') || TORCH_VALUES.contains(&name));
    if SAFE_GLOBALS.contains(&full.as_str()) || is_safe_class(module, name) || torch_storage_or_dtype {
        return Verdict::Safe;
    }
    let path: Vec<&str> = module.split('.').chain(name.split('.')).collect();
    if let Some(bad) = path.iter().find(|part| DANGEROUS_MODULES.contains(part)) {
        if matches!(*bad, "builtins" | "__builtin__" | "__builtins__") {
            return Verdict::Flagged(format!("{full}: executes code or reaches the system"));
        }
        return Verdict::Flagged(format!("{full}: module '{bad}' runs commands or reaches the system"));
    }
    if name.contains('.') {
        return Verdict::Flagged(format!("{full}: an attribute path reaching past module '{module}'"));
    }
    Verdict::Flagged(format!("{full}: not on the allowlist of known-safe globals (importing or calling it can run code)"))
}

fn is_safe_class(module: &str, name: &str) -> bool {
    let in_package = SAFE_CLASS_PACKAGES.iter().any(|p| module == *p || module.strip_prefix(p).is_some_and(|rest| rest.starts_with('.')));
    in_package && !name.contains('.') && name.starts_with(|c: char| c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_rebuilds_estimators_and_containers_are_safe() {
        for (module, name) in [
            ("numpy.core.multiarray", "_reconstruct"),
            ("sklearn.ensemble._forest", "RandomForestClassifier"),
            ("torch._utils", "_rebuild_tensor_v2"),
            ("torch.nn.modules.linear", "Linear"),
            ("collections", "OrderedDict"),
            ("pathlib", "PosixPath"),
            ("functools", "partial"),
            ("torch", "FloatStorage"),
            ("torch", "float32"),
        ] {
            assert_eq!(classify(module, name), Verdict::Safe, "{module}.{name}");
        }
    }

    #[test]
    fn everything_else_is_flagged_with_a_reason() {
        let reason = |m, n| match classify(m, n) {
            Verdict::Flagged(why) => why,
            Verdict::Safe => panic!("{m}.{n} is not safe"),
        };
        assert_eq!(reason("posixpath", "os.system"), "posixpath.os.system: module 'posixpath' runs commands or reaches the system");
        assert_eq!(reason("pydoc", "pipepager"), "pydoc.pipepager: module 'pydoc' runs commands or reaches the system");
        assert_eq!(
            reason("_posixsubprocess", "fork_exec"),
            "_posixsubprocess.fork_exec: module '_posixsubprocess' runs commands or reaches the system"
        );
        assert_eq!(reason("io", "open"), "io.open: module 'io' runs commands or reaches the system");
        assert_eq!(reason("builtins", "getattr"), "builtins.getattr: executes code or reaches the system");
        assert_eq!(reason("sklearn", "Pipeline.os"), "sklearn.Pipeline.os: module 'os' runs commands or reaches the system");
        assert_eq!(reason("sklearn.utils", "Bunch.fit"), "sklearn.utils.Bunch.fit: an attribute path reaching past module 'sklearn.utils'");
        assert_eq!(
            reason("mypackage", "helper"),
            "mypackage.helper: not on the allowlist of known-safe globals (importing or calling it can run code)"
        );
        // A lower-case function of a trusted package is not a class.
        assert!(matches!(classify("sklearn.utils", "resample"), Verdict::Flagged(_)));
        assert!(matches!(classify("sklearnx", "Evil"), Verdict::Flagged(_)));
        assert!(matches!(classify("torch", "load"), Verdict::Flagged(_)));
        assert!(matches!(classify("torch", "Storage.os"), Verdict::Flagged(_)));
    }
}
