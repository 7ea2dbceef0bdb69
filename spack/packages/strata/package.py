# Copyright Strata developers.
#
# SPDX-License-Identifier: BSD-3-Clause
"""Spack recipe for Strata.

The repository declares no Package API version (see ../../repo.yaml), i.e. it is a
Package API v1.0 repository: Spack 0.2x exports the build-system base classes
(CMakePackage, CudaPackage, ROCmPackage) from ``spack.package``, and Spack 1.x
injects them into v1.0 package modules, so the star import below suffices.
"""

import os

from spack.package import *


class Strata(CMakePackage, CudaPackage, ROCmPackage):
    """Strata: randomized structured linear algebra (sketching, randomized
    low-rank and structured-matrix factorizations) on top of Kokkos and
    Kokkos Kernels, with optional MPI distribution and HDF5 I/O."""

    homepage = "https://github.com/strata-hpc/strata"
    git = "https://github.com/strata-hpc/strata.git"

    license("BSD-3-Clause")

    # No tarball/tag exists yet, so no checksummed release can be listed.
    version("main", branch="main")

    test_requires_compiler = True

    # ------------------------------------------------------------------ variants
    # cuda/cuda_arch come from CudaPackage, rocm/amdgpu_target from ROCmPackage.
    variant("mpi", default=True, description="Enable distributed-memory support via MPI")
    variant("hdf5", default=True, description="Enable HDF5 I/O")
    variant("openmp", default=False, description="Require the Kokkos OpenMP backend")
    variant(
        "gpu_aware_mpi",
        default=False,
        description="Pass device buffers directly to a CUDA/ROCm-aware MPI",
    )
    variant(
        "shared",
        default=True,
        description="Build libstrata as a shared library (~shared: a static, position-independent one)",
    )
    variant(
        "fortran",
        default=True,
        description="Build the Fortran module strata (bind(C) over the C interface strata.h)",
    )
    variant(
        "benchmarks",
        default=False,
        description="Build and install the benchmark drivers (strata_bench_*) in bin/",
    )

    # -------------------------------------------------------------- dependencies
    depends_on("c", type="build")
    depends_on("cxx", type="build")
    depends_on("fortran", type="build", when="+fortran")
    depends_on("cmake@3.22:", type="build")

    # Strata is C++17: Kokkos 5 requires C++20 (and drops the cuda_lambda
    # variant), so stay within the 3.4 - 4.x series of Kokkos / Kokkos Kernels.
    depends_on("kokkos@3.4:4")
    depends_on("kokkos-kernels@3.4:4")
    # Kokkos Kernels must dispatch GEMMs to an optimized BLAS (and LAPACK) rather than its native
    # kernels; `strata info` lists the back-ends it was really built with. Its lapack variant
    # requires its blas variant.
    depends_on("kokkos-kernels+blas+lapack")
    # On GPUs, to the vendor BLAS. Strata calls no Kokkos Kernels LAPACK routine on the device
    # (its small dense factorizations are its own batched kernels), so +cusolver/+rocsolver are
    # not required.
    depends_on("kokkos-kernels+cublas", when="+cuda")
    depends_on("kokkos-kernels+rocblas", when="+rocm")
    # A shared libstrata links Kokkos into a shared object: Kokkos must be position-independent
    # (Kokkos Kernels follows its Kokkos' pic setting).
    depends_on("kokkos+pic", when="+shared")

    depends_on("random123")
    depends_on("blas")
    depends_on("lapack")

    depends_on("mpi", when="+mpi")
    depends_on("hdf5+mpi", when="+hdf5+mpi")
    depends_on("hdf5~mpi", when="+hdf5~mpi")

    # Test-only: GoogleTest for the unit tests, Python for the command-line tests (tests/cli).
    depends_on("googletest", type="test")
    depends_on("python@3.8:", type="test")
    depends_on("benchmark", type=("build", "link"), when="+benchmarks")

    # Host backend.
    depends_on("kokkos+openmp", when="+openmp")

    # Device backends: Strata relies on Kokkos for devices, so the device
    # variants (and the target architecture) must match one-to-one.
    depends_on("kokkos~cuda", when="~cuda")
    depends_on("kokkos-kernels~cuda", when="~cuda")
    depends_on("kokkos~rocm", when="~rocm")

    for _arch in CudaPackage.cuda_arch_values:
        _cuda_dep = f"+cuda cuda_arch={_arch}"
        depends_on(f"kokkos+cuda+cuda_lambda cuda_arch={_arch}", when=_cuda_dep)
        depends_on(f"kokkos-kernels+cuda cuda_arch={_arch}", when=_cuda_dep)

    # kokkos-kernels has no ROCm variant; it follows its kokkos dependency.
    for _target in ROCmPackage.amdgpu_targets:
        depends_on(f"kokkos+rocm amdgpu_target={_target}", when=f"+rocm amdgpu_target={_target}")

    # Kokkos refuses to build +cuda with GCC unless it uses nvcc_wrapper.
    depends_on("kokkos+wrapper", when="+cuda %gcc")

    # ----------------------------------------------------------------- conflicts
    conflicts("+cuda", when="+rocm", msg="Kokkos supports only one device backend at a time")
    conflicts("+cuda", when="cuda_arch=none", msg="+cuda requires an explicit cuda_arch=<sm>")
    conflicts(
        "+rocm", when="amdgpu_target=none", msg="+rocm requires an explicit amdgpu_target=<gfx>"
    )
    conflicts("+gpu_aware_mpi", when="~mpi", msg="+gpu_aware_mpi requires +mpi")
    conflicts(
        "+gpu_aware_mpi",
        when="~cuda~rocm",
        msg="+gpu_aware_mpi only makes sense with a device backend (+cuda or +rocm)",
    )

    # --------------------------------------------------------------------- build
    def _device_cxx(self, for_test=False):
        """C++ compiler that must be used for device builds, or None.

        Strata is compiled like its Kokkos: through ``kokkos_cxx`` (nvcc_wrapper
        unless Kokkos is built with Clang) for CUDA, and with hipcc for HIP, as
        the Kokkos recipe does, unless Kokkos compiles HIP as a CMake language
        (then the default compiler is right and nothing is forced).
        """
        spec = self.spec
        if spec.satisfies("+cuda"):
            if for_test and not spec.satisfies("^kokkos+wrapper"):
                # kokkos_cxx is then the plain compiler wrapper of the build
                # environment; in a test environment use $CXX instead.
                return None
            return self["kokkos"].kokkos_cxx
        if spec.satisfies("+rocm") and not spec.satisfies("^kokkos+cmake_lang"):
            return spec["hip"].hipcc
        return None

    def cmake_args(self):
        spec = self.spec
        args = [
            self.define("Kokkos_ROOT", spec["kokkos"].prefix),
            self.define("KokkosKernels_ROOT", spec["kokkos-kernels"].prefix),
            self.define_from_variant("Strata_ENABLE_MPI", "mpi"),
            self.define_from_variant("Strata_ENABLE_HDF5", "hdf5"),
            self.define_from_variant("Strata_ENABLE_GPU_AWARE_MPI", "gpu_aware_mpi"),
            self.define_from_variant("Strata_ENABLE_BENCHMARKS", "benchmarks"),
            self.define_from_variant("BUILD_SHARED_LIBS", "shared"),
            self.define("Strata_ENABLE_FORTRAN", "ON" if self.spec.satisfies("+fortran") else "OFF"),
            self.define("Strata_ENABLE_TESTS", self.run_tests),
            self.define("Strata_ENABLE_APPS", True),
            # Checked against the Kokkos configuration (kokkos_check) by our CMake.
            self.define_from_variant("Strata_REQUIRE_CUDA", "cuda"),
            self.define_from_variant("Strata_REQUIRE_HIP", "rocm"),
            self.define_from_variant("Strata_REQUIRE_OPENMP", "openmp"),
            # Make FindBLAS/FindLAPACK use the concretized providers.
            self.define("BLAS_LIBRARIES", spec["blas"].libs.joined(";")),
            self.define("LAPACK_LIBRARIES", spec["lapack"].libs.joined(";")),
        ]
        if spec.satisfies("+hdf5"):
            args.append(self.define("HDF5_ROOT", spec["hdf5"].prefix))

        device_cxx = self._device_cxx()
        if device_cxx:
            args.append(self.define("CMAKE_CXX_COMPILER", device_cxx))
        return args

    # -------------------------------------------------------- stand-alone tests
    install_test_src_dir = join_path("tests", "install")

    @run_after("install")
    def cache_install_test_sources(self):
        """Keep tests/install (a find_package(Strata) consumer) for `spack test run`."""
        if os.path.isdir(join_path(self.stage.source_path, self.install_test_src_dir)):
            cache_extra_test_sources(self, [self.install_test_src_dir])

    def _cmake_exe(self):
        try:
            cmake_path = self.spec["cmake"].prefix.bin.cmake
        except KeyError:
            cmake_path = None
        if cmake_path and os.path.exists(cmake_path):
            return Executable(cmake_path)
        return which("cmake", required=True)

    def _launch(self, program, *args, ranks=2):
        """Runs `program args` under the MPI launcher at `ranks` ranks (+mpi), else directly;
        returns its standard output."""
        if not self.spec.satisfies("+mpi"):
            return which(program, required=True)(*args, output=str, error=str)
        mpi_bin = self.spec["mpi"].prefix.bin
        launcher = None
        for name in ("mpiexec", "mpirun", "srun"):
            launcher = which(name, path=mpi_bin) or which(name)
            if launcher:
                break
        if launcher is None:
            raise SkipTest(f"no MPI launcher (mpiexec, mpirun, srun) in {mpi_bin} or on PATH")
        # Open MPI refuses more ranks than cores without this; others ignore the variable.
        launcher.add_default_env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        return launcher("-n", str(ranks), program, *args, output=str, error=str)

    def test_strata_info(self):
        """run `strata info --json` through the MPI launcher and check the BLAS back-ends"""
        out = self._launch(self.prefix.bin.strata, "info", "--json")
        assert '"version"' in out, f"`strata info --json` printed no version:\n{out}"
        if self.spec.satisfies("+mpi"):
            assert '"mpi_ranks": 2' in out, f"`strata info` did not run on 2 ranks:\n{out}"
        # The back-ends Kokkos Kernels was really built with (read from its configuration).
        expected = ["BLAS"]
        if self.spec.satisfies("^kokkos-kernels+lapack"):
            expected.append("LAPACK")
        if self.spec.satisfies("+cuda"):
            expected.append("CUBLAS")
        if self.spec.satisfies("+rocm"):
            expected.append("ROCBLAS")
        for tpl in expected:
            assert f'"{tpl}"' in out, f"Kokkos Kernels lacks the {tpl} back-end:\n{out}"

    def test_find_package(self):
        """build tests/install against the installed Strata with CMake and run it (MPI launcher)"""
        src = join_path(self.test_suite.current_test_cache_dir, self.install_test_src_dir)
        if not os.path.isdir(src):
            raise SkipTest(f"{self.install_test_src_dir} was not cached at install time")

        spec = self.spec
        prefixes = [self.prefix, spec["kokkos"].prefix, spec["kokkos-kernels"].prefix]
        for dep in spec.traverse(root=False, deptype=("link", "run")):
            if dep.prefix not in prefixes:
                prefixes.append(dep.prefix)

        cxx = self._device_cxx(for_test=True) or os.environ.get("CXX")
        args = [src, self.define("CMAKE_PREFIX_PATH", prefixes)]
        if cxx:
            args.append(self.define("CMAKE_CXX_COMPILER", cxx))
        if spec.satisfies("+mpi"):
            args.append(self.define("MPI_HOME", spec["mpi"].prefix))

        cmake = self._cmake_exe()
        with working_dir("strata_install_smoke_build", create=True):
            cmake(*args)
            cmake("--build", ".")
            out = self._launch(join_path(os.getcwd(), "strata_install_smoke"))
            assert "strata_install_smoke: ok" in out, f"the smoke program failed:\n{out}"

    def test_benchmarks_installed(self):
        """+benchmarks installs the benchmark drivers"""
        if not self.spec.satisfies("+benchmarks"):
            raise SkipTest("built ~benchmarks")
        for driver in ("strata_bench_polar", "strata_bench_rsvd", "strata_bench_hss"):
            assert os.path.isfile(join_path(self.prefix.bin, driver)), f"{driver} not installed"
