"""Which NEST a module is built for (:class:`NestTarget`): found from the ``nest`` Python package (the PyPI
wheel's ``nest-config`` lies) or from a source build's ``nest-config``, with the C++ string ABI of its kernel
read off the library's symbols.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from nestml_lab.cmake.errors import BuildError


@dataclass(frozen=True)
class NestTarget:
    """The NEST installation a module is built for: where it is, its version and its C++ string ABI.

    A module is built once per NEST installation: its build folder is named by
    :attr:`key`, and its stamp records this target so that loading it into
    another NEST is refused.
    """

    version: str                 # "3.10.0"
    nest_config: str | None      # a real nest-config (NEST built from source), or
    python_package: str | None   # the installed nest Python package (PyPI wheel)
    kernel: str                  # the kernel library whose symbols tell the ABI and MPI
    abi: int                     # _GLIBCXX_USE_CXX11_ABI: 0 (the wheel) or 1
    mpi: bool = False            # built with MPI (the kernel calls MPI_Init)

    @property
    def location(self) -> str:
        """Where this NEST was found: its ``nest-config``, or its Python package."""
        return self.nest_config or self.python_package

    @property
    def key(self) -> str:
        """Name of this NEST's build folder inside a project's build folder, e.g. ``nest-3.10.0-1a2b3c4d``."""
        return f"nest-{self.version}-" + hashlib.sha256(self.location.encode()).hexdigest()[:8]

    def describe(self) -> str:
        """One line for logs and errors: version, MPI, where it was found, C++ ABI."""
        where = f"nest-config {self.nest_config}" if self.nest_config else f"the Python package {self.python_package}"
        return f"NEST {self.version}{' with MPI' if self.mpi else ''} from {where} (C++ ABI {self.abi})"

    def module_command(self, project) -> str:
        """The command that builds ``project`` for this NEST."""
        if self.nest_config:
            return f"nestml-lab module {project} --nest-config {self.nest_config}"
        lab = Path(sys.prefix) / "bin" / "nestml-lab"
        return f"{lab if Path(sys.prefix) != Path(sys.base_prefix) else 'nestml-lab'} module {project}"

    def cmake_args(self) -> list[str]:
        """The CMake arguments that compile against this NEST."""
        where = [f"-DNEST_CONFIG={self.nest_config}"] if self.nest_config else \
            [f"-DNEST_PYTHON_PACKAGE={self.python_package}"]
        return where + [f"-DNEST_CXX11_ABI={self.abi}", f"-DNEST_MPI={'ON' if self.mpi else 'OFF'}"]

    def to_json(self) -> dict:
        """This target as JSON, for the module's stamp."""
        return {"version": self.version, "nest_config": self.nest_config, "python_package": self.python_package,
                "kernel": self.kernel, "abi": self.abi, "mpi": self.mpi, "key": self.key}


def kernel_facts(library: str | Path) -> tuple[int, bool]:
    """C++ string ABI (0 or 1) of a NEST kernel library and whether it was built with MPI, read off its symbols.

    ``nest::`` functions taking ``std::string`` are mangled with ``Ss`` under the old ABI and with
    ``__cxx11`` under the new one; a kernel built with MPI calls ``MPI_Init`` (or ``MPI_Init_thread``).
    """
    library = Path(library)
    return _read_kernel(str(library), library.stat().st_mtime)


@lru_cache(maxsize=8)
def _read_kernel(library: str, _mtime: float) -> tuple[int, bool]:
    nm = shutil.which("nm")
    if not nm:
        raise BuildError("toolchain", "nm not found (binutils): needed to read the NEST kernel's C++ ABI")
    out = subprocess.run([nm, "-D", library], capture_output=True, text=True).stdout
    defined = "\n".join(line for line in out.splitlines() if not line.lstrip().startswith("U "))
    old = len(re.findall(r"_ZN4nest\w*Ss", defined))
    new = len(re.findall(r"_ZN4nest\w*__cxx11", defined))
    if not old and not new:
        raise BuildError("toolchain", f"cannot tell the C++ ABI of {library}: no nest:: string symbols")
    mpi = re.search(r"^\s*U P?MPI_Init(?:_thread)?\b", out, re.M) is not None
    return (0 if old > new else 1), mpi


def _from_nest_config(nest_config: str) -> NestTarget:
    config = Path(nest_config).resolve()
    if not config.is_file():
        raise BuildError("toolchain", f"nest-config {nest_config} does not exist")
    try:
        version = subprocess.run([str(config), "--version"], capture_output=True, text=True,
                                 check=True).stdout.strip().split()[-1]
        libdir = Path(subprocess.run([str(config), "--libdir"], capture_output=True, text=True,
                                     check=True).stdout.strip())
    except (subprocess.CalledProcessError, IndexError, OSError) as exc:
        raise BuildError("toolchain", f"{config} does not answer --version/--libdir: {exc}") from None
    kernels = sorted(libdir.glob("nest/libnestkernel*.so*")) + sorted(libdir.glob("libnestkernel*.so*"))
    if not kernels:
        raise BuildError("toolchain", f"no libnestkernel in {libdir} (from {config} --libdir)")
    abi, mpi = kernel_facts(kernels[0])
    return NestTarget(version.lstrip("v"), str(config), None, str(kernels[0]), abi, mpi)


def _from_python_package(pkg: Path) -> NestTarget:
    pkg = pkg.resolve()
    if not (pkg / "include" / "nest" / "nest.h").is_file():
        raise BuildError("toolchain", f"the nest package at {pkg} has no headers (include/nest/nest.h); "
                                      "set NEST_CONFIG to a nest-config instead")
    version = _package_version(pkg)
    kernel = pkg / "nestkernel_api.so"
    abi, mpi = kernel_facts(kernel)
    return NestTarget(version, None, str(pkg), str(kernel), abi, mpi)


def _package_version(pkg: Path) -> str:
    """Version of the nest-simulator distribution that installed ``pkg``."""
    try:
        dist = importlib.metadata.distribution("nest-simulator")
        if Path(dist.locate_file("nest")).resolve() == pkg:
            return dist.version
    except importlib.metadata.PackageNotFoundError:
        pass
    found = re.search(r"__version__\s*=\s*['\"]([^'\"]+)", (pkg / "__init__.py").read_text(errors="replace"))
    if not found:
        raise BuildError("toolchain", f"cannot tell the version of the NEST package at {pkg}")
    return found.group(1)


def find_nest(nest_config: str | None = None) -> NestTarget:
    """The NEST to build for, found without importing it.

    A ``nest-config`` named explicitly (argument or ``NEST_CONFIG``) wins: it is
    a NEST built from source. Otherwise the ``nest`` Python package, whose
    headers the PyPI wheel ships in ``nest/include/nest`` (its own nest-config
    names the wheel builder's temporary paths and is ignored).
    """
    nest_config = nest_config or os.environ.get("NEST_CONFIG")
    if nest_config:
        return _from_nest_config(nest_config)
    spec = importlib.util.find_spec("nest")
    if spec is None or spec.origin is None:
        raise BuildError("toolchain", "NEST is not installed in this Python: pip install nest-simulator, "
                                      "or set NEST_CONFIG to the nest-config of a NEST built from source")
    return _from_python_package(Path(spec.origin).parent)


@lru_cache(maxsize=1)
def running_nest() -> NestTarget:
    """The NEST this Python imports (``import nest``): the one a module must have been built for.

    Cached: it cannot change within a process, and every install after a ResetKernel asks for it.
    """
    spec = importlib.util.find_spec("nest")
    if spec is None or spec.origin is None:
        raise BuildError("toolchain", "NEST is not installed in this Python")
    pkg = Path(spec.origin).parent
    if (pkg / "include" / "nest" / "nest.h").is_file():
        return _from_python_package(pkg)
    # a NEST built from source: its nest-config sits in <prefix>/bin, the package in <prefix>/lib/pythonX.Y/...
    candidates = [os.environ.get("NEST_CONFIG")] + [str(p / "bin" / "nest-config") for p in pkg.parents]
    for config in filter(None, candidates):
        if Path(config).is_file():
            return _from_nest_config(config)
    raise BuildError("toolchain", f"cannot find the nest-config of the NEST at {pkg}: set NEST_CONFIG")
