! The Fortran module `strata`: bind(C) interfaces over Strata's C interface (strata.h), with the
! same names, arguments and error codes. Read strata.h for what each function computes.
!
!   use strata
!   ierr = strata_initialize(c_null_ptr, c_null_ptr)
!   ierr = strata_d_hss_compress_matvec(comm, local_rows, c_funloc(my_matvec), c_loc(my_data), &
!                                       options, hss, info)
!   if (ierr /= STRATA_SUCCESS) print *, strata_error_message()
!
! Conventions:
!  - Communicators are integers (MPI_Fint): MPI_COMM_WORLD from `use mpi`, or comm%MPI_VAL for a
!    type(MPI_Comm) from `use mpi_f08`. A Strata built without MPI ignores them.
!  - Handles are type(c_ptr); free them with strata_d_hss_destroy before strata_finalize.
!  - Arrays are ordinary column-major Fortran arrays with their leading dimension (ld) passed
!    explicitly; sizes and leading dimensions are integer(c_int64_t).
!  - Callbacks are bind(C) functions with the abstract interfaces below, passed with c_funloc;
!    their context argument is whatever type(c_ptr) was passed (c_loc(some_target) or c_null_ptr).
!  - File names end with c_null_char: strata_c_string('out.h5').
!  - Arguments marked optional (the info results, one of the two square-root outputs) may be left
!    out; strata.h receives NULL then.
module strata
  use, intrinsic :: iso_c_binding
  implicit none

  ! ---- error codes --------------------------------------------------------------------------
  integer(c_int), parameter :: STRATA_SUCCESS = 0
  integer(c_int), parameter :: STRATA_ERROR_INVALID_ARGUMENT = 1
  integer(c_int), parameter :: STRATA_ERROR_SHAPE_MISMATCH = 2
  integer(c_int), parameter :: STRATA_ERROR_NON_FINITE = 3
  integer(c_int), parameter :: STRATA_ERROR_IO = 4
  integer(c_int), parameter :: STRATA_ERROR_UNSUPPORTED = 5
  integer(c_int), parameter :: STRATA_ERROR_NUMERICAL = 6
  integer(c_int), parameter :: STRATA_ERROR_COMMUNICATION = 7
  integer(c_int), parameter :: STRATA_ERROR_INTERNAL = 8
  integer(c_int), parameter :: STRATA_ERROR_OUT_OF_MEMORY = 9
  integer(c_int), parameter :: STRATA_ERROR_CALLBACK = 10
  integer(c_int), parameter :: STRATA_ERROR_NOT_INITIALIZED = 11

  ! ---- option values --------------------------------------------------------------------------
  integer(c_int), parameter :: STRATA_HSS_LEVITT_MARTINSSON = 0, STRATA_HSS_QUASI_OPTIMAL = 1
  integer(c_int), parameter :: STRATA_ULV_GENERAL = 0, STRATA_ULV_SPD = 1
  integer(c_int), parameter :: STRATA_POLAR_EXPRESS = 0, STRATA_NEWTON_SCHULZ = 1, STRATA_MUON = 2
  integer(c_int), parameter :: STRATA_SCALING_FROBENIUS = 0, STRATA_SCALING_SPECTRAL_ESTIMATE = 1
  integer(c_int), parameter :: STRATA_SKETCH_GAUSSIAN = 0, STRATA_SKETCH_RADEMACHER = 1, &
                               STRATA_SKETCH_SRHT = 2, STRATA_SKETCH_HADAMARD = 3, &
                               STRATA_SKETCH_SPARSE_SIGN = 4
  integer(c_int), parameter :: STRATA_LSTSQ_SKETCH_AND_PRECONDITION = 0, &
                               STRATA_LSTSQ_SKETCH_AND_SOLVE = 1
  integer(c_int), parameter :: STRATA_TRACE_HUTCHINSON = 0, STRATA_TRACE_HUTCH_PLUS_PLUS = 1, &
                               STRATA_TRACE_NA_HUTCH_PLUS_PLUS = 2
  integer(c_int), parameter :: STRATA_NO_TRANSPOSE = 0, STRATA_TRANSPOSE = 1

  ! ---- options and results (the C structs, field for field) ----------------------------------
  type, bind(C) :: strata_hss_options
    integer(c_int64_t) :: leaf_size, rank
    real(c_double) :: tolerance
    integer(c_int64_t) :: oversampling, samples, max_samples, seed
    integer(c_int) :: method, error_probes, max_rounds
  end type strata_hss_options

  type, bind(C) :: strata_hss_info
    integer(c_int64_t) :: rows, levels, max_rank, products, memory_bytes
    real(c_double) :: relative_error_estimate
  end type strata_hss_info

  type, bind(C) :: strata_solve_info
    real(c_double) :: residual, condition_lower_bound
  end type strata_solve_info

  type, bind(C) :: strata_polar_options
    real(c_double) :: lower, tolerance, safety
    integer(c_int) :: method, degree, steps, max_steps, scaling
  end type strata_polar_options

  type, bind(C) :: strata_polar_info
    integer(c_int) :: iterations, converged
    real(c_double) :: error, scale
  end type strata_polar_info

  type, bind(C) :: strata_rsvd_options
    integer(c_int64_t) :: rank, oversample, max_rank, block_size, seed
    real(c_double) :: tolerance
    integer(c_int) :: power_iterations, error_probes
  end type strata_rsvd_options

  type, bind(C) :: strata_rsvd_info
    integer(c_int64_t) :: rank, matvecs
    real(c_double) :: error_estimate
    integer(c_int) :: converged
  end type strata_rsvd_info

  type, bind(C) :: strata_sketch_options
    integer(c_int64_t) :: rows, seed, stream, nnz
    integer(c_int) :: kind, isometry_scaling
  end type strata_sketch_options

  type, bind(C) :: strata_lstsq_options
    integer(c_int64_t) :: sketch_rows, sparse_nnz, seed
    real(c_double) :: atol, btol
    integer(c_int) :: method, sketch_kind, max_iterations
  end type strata_lstsq_options

  type, bind(C) :: strata_lstsq_info
    integer(c_int) :: iterations, converged
    real(c_double) :: residual_norm
  end type strata_lstsq_info

  type, bind(C) :: strata_trace_options
    integer(c_int64_t) :: matvecs, seed
    integer(c_int) :: method
  end type strata_trace_options

  type, bind(C) :: strata_trace_info
    real(c_double) :: estimate, standard_error
    integer(c_int64_t) :: matvecs
  end type strata_trace_info

  ! ---- callbacks (implement with these interfaces, pass with c_funloc) -----------------------
  abstract interface
    !> y = A x (trans = STRATA_NO_TRANSPOSE) or A^T x on this rank's rows; return 0 on success.
    integer(c_int) function strata_d_matvec_fn(context, trans, local_rows, k, x, ldx, y, ldy) &
        bind(C)
      import :: c_ptr, c_int, c_int64_t, c_double
      type(c_ptr), value :: context
      integer(c_int), value :: trans
      integer(c_int64_t), value :: local_rows, k, ldx, ldy
      real(c_double), intent(in) :: x(ldx, *)
      real(c_double), intent(inout) :: y(ldy, *)
    end function strata_d_matvec_fn
    integer(c_int) function strata_s_matvec_fn(context, trans, local_rows, k, x, ldx, y, ldy) &
        bind(C)
      import :: c_ptr, c_int, c_int64_t, c_float
      type(c_ptr), value :: context
      integer(c_int), value :: trans
      integer(c_int64_t), value :: local_rows, k, ldx, ldy
      real(c_float), intent(in) :: x(ldx, *)
      real(c_float), intent(inout) :: y(ldy, *)
    end function strata_s_matvec_fn
    !> values(i, j) = A(rows(i), cols(j)) with 0-based global indices; return 0 on success.
    integer(c_int) function strata_d_entries_fn(context, nrows, rows, ncols, cols, values, ldv) &
        bind(C)
      import :: c_ptr, c_int, c_int64_t, c_double
      type(c_ptr), value :: context
      integer(c_int64_t), value :: nrows, ncols, ldv
      integer(c_int64_t), intent(in) :: rows(nrows), cols(ncols)
      real(c_double), intent(inout) :: values(ldv, *)
    end function strata_d_entries_fn
    integer(c_int) function strata_s_entries_fn(context, nrows, rows, ncols, cols, values, ldv) &
        bind(C)
      import :: c_ptr, c_int, c_int64_t, c_float
      type(c_ptr), value :: context
      integer(c_int64_t), value :: nrows, ncols, ldv
      integer(c_int64_t), intent(in) :: rows(nrows), cols(ncols)
      real(c_float), intent(inout) :: values(ldv, *)
    end function strata_s_entries_fn
  end interface

  ! ---- runtime --------------------------------------------------------------------------------
  interface
    integer(c_int) function strata_initialize(argc, argv) bind(C, name="strata_initialize")
      import :: c_ptr, c_int
      type(c_ptr), value :: argc, argv
    end function strata_initialize
    integer(c_int) function strata_finalize() bind(C, name="strata_finalize")
      import :: c_int
    end function strata_finalize
    type(c_ptr) function strata_last_error() bind(C, name="strata_last_error")
      import :: c_ptr
    end function strata_last_error
    type(c_ptr) function strata_error_name(code) bind(C, name="strata_error_name")
      import :: c_ptr, c_int
      integer(c_int), value :: code
    end function strata_error_name
    integer(c_int) function strata_have_mpi() bind(C, name="strata_have_mpi")
      import :: c_int
    end function strata_have_mpi
  end interface

  ! ---- default options ------------------------------------------------------------------------
  interface
    subroutine strata_hss_default_options(options) bind(C, name="strata_hss_default_options")
      import :: strata_hss_options
      type(strata_hss_options), intent(out) :: options
    end subroutine strata_hss_default_options
    subroutine strata_polar_default_options(options) bind(C, name="strata_polar_default_options")
      import :: strata_polar_options
      type(strata_polar_options), intent(out) :: options
    end subroutine strata_polar_default_options
    subroutine strata_rsvd_default_options(options) bind(C, name="strata_rsvd_default_options")
      import :: strata_rsvd_options
      type(strata_rsvd_options), intent(out) :: options
    end subroutine strata_rsvd_default_options
    subroutine strata_sketch_default_options(options) &
        bind(C, name="strata_sketch_default_options")
      import :: strata_sketch_options
      type(strata_sketch_options), intent(out) :: options
    end subroutine strata_sketch_default_options
    subroutine strata_lstsq_default_options(options) bind(C, name="strata_lstsq_default_options")
      import :: strata_lstsq_options
      type(strata_lstsq_options), intent(out) :: options
    end subroutine strata_lstsq_default_options
    subroutine strata_trace_default_options(options) bind(C, name="strata_trace_default_options")
      import :: strata_trace_options
      type(strata_trace_options), intent(out) :: options
    end subroutine strata_trace_default_options
  end interface

  ! ---- HSS matrices (double precision) ---------------------------------------------------------
  interface
    integer(c_int) function strata_d_hss_compress_matvec(comm, local_rows, matvec, context, &
        options, hss, info) bind(C, name="strata_d_hss_compress_matvec")
      import :: c_int, c_int64_t, c_funptr, c_ptr, strata_hss_options, strata_hss_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows
      type(c_funptr), value :: matvec
      type(c_ptr), value :: context
      type(strata_hss_options), intent(in) :: options
      type(c_ptr), intent(out) :: hss
      type(strata_hss_info), intent(out), optional :: info
    end function strata_d_hss_compress_matvec
    integer(c_int) function strata_d_hss_compress_entries(comm, local_rows, n, entries, context, &
        options, hss, info) bind(C, name="strata_d_hss_compress_entries")
      import :: c_int, c_int64_t, c_funptr, c_ptr, strata_hss_options, strata_hss_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows, n
      type(c_funptr), value :: entries
      type(c_ptr), value :: context
      type(strata_hss_options), intent(in) :: options
      type(c_ptr), intent(out) :: hss
      type(strata_hss_info), intent(out), optional :: info
    end function strata_d_hss_compress_entries
    integer(c_int) function strata_d_hss_compress_dense(comm, local_rows, n, a, lda, options, &
        hss, info) bind(C, name="strata_d_hss_compress_dense")
      import :: c_int, c_int64_t, c_double, c_ptr, strata_hss_options, strata_hss_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows, n, lda
      real(c_double), intent(in) :: a(lda, *)
      type(strata_hss_options), intent(in) :: options
      type(c_ptr), intent(out) :: hss
      type(strata_hss_info), intent(out), optional :: info
    end function strata_d_hss_compress_dense
    integer(c_int) function strata_d_hss_destroy(hss) bind(C, name="strata_d_hss_destroy")
      import :: c_int, c_ptr
      type(c_ptr), value :: hss
    end function strata_d_hss_destroy
    integer(c_int) function strata_d_hss_info(hss, info) bind(C, name="strata_d_hss_info")
      import :: c_int, c_ptr, strata_hss_info
      type(c_ptr), value :: hss
      type(strata_hss_info), intent(out) :: info
    end function strata_d_hss_info
    integer(c_int) function strata_d_hss_matvec(hss, trans, k, x, ldx, y, ldy) &
        bind(C, name="strata_d_hss_matvec")
      import :: c_int, c_int64_t, c_double, c_ptr
      type(c_ptr), value :: hss
      integer(c_int), value :: trans
      integer(c_int64_t), value :: k, ldx, ldy
      real(c_double), intent(in) :: x(ldx, *)
      real(c_double), intent(inout) :: y(ldy, *)
    end function strata_d_hss_matvec
    integer(c_int) function strata_d_hss_factor(hss, variant) bind(C, name="strata_d_hss_factor")
      import :: c_int, c_ptr
      type(c_ptr), value :: hss
      integer(c_int), value :: variant
    end function strata_d_hss_factor
    integer(c_int) function strata_d_hss_solve(hss, k, b, ldb, x, ldx, info) &
        bind(C, name="strata_d_hss_solve")
      import :: c_int, c_int64_t, c_double, c_ptr, strata_solve_info
      type(c_ptr), value :: hss
      integer(c_int64_t), value :: k, ldb, ldx
      real(c_double), intent(in) :: b(ldb, *)
      real(c_double), intent(inout) :: x(ldx, *)
      type(strata_solve_info), intent(out), optional :: info
    end function strata_d_hss_solve
    integer(c_int) function strata_d_hss_save(hss, file) bind(C, name="strata_d_hss_save")
      import :: c_int, c_ptr, c_char
      type(c_ptr), value :: hss
      character(kind=c_char), intent(in) :: file(*)
    end function strata_d_hss_save
    integer(c_int) function strata_d_hss_load(comm, file, local_rows, hss) &
        bind(C, name="strata_d_hss_load")
      import :: c_int, c_int64_t, c_ptr, c_char
      integer(c_int), value :: comm
      character(kind=c_char), intent(in) :: file(*)
      integer(c_int64_t), value :: local_rows
      type(c_ptr), intent(out) :: hss
    end function strata_d_hss_load
  end interface

  ! ---- HSS matrices (single precision) ---------------------------------------------------------
  interface
    integer(c_int) function strata_s_hss_compress_matvec(comm, local_rows, matvec, context, &
        options, hss, info) bind(C, name="strata_s_hss_compress_matvec")
      import :: c_int, c_int64_t, c_funptr, c_ptr, strata_hss_options, strata_hss_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows
      type(c_funptr), value :: matvec
      type(c_ptr), value :: context
      type(strata_hss_options), intent(in) :: options
      type(c_ptr), intent(out) :: hss
      type(strata_hss_info), intent(out), optional :: info
    end function strata_s_hss_compress_matvec
    integer(c_int) function strata_s_hss_compress_entries(comm, local_rows, n, entries, context, &
        options, hss, info) bind(C, name="strata_s_hss_compress_entries")
      import :: c_int, c_int64_t, c_funptr, c_ptr, strata_hss_options, strata_hss_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows, n
      type(c_funptr), value :: entries
      type(c_ptr), value :: context
      type(strata_hss_options), intent(in) :: options
      type(c_ptr), intent(out) :: hss
      type(strata_hss_info), intent(out), optional :: info
    end function strata_s_hss_compress_entries
    integer(c_int) function strata_s_hss_compress_dense(comm, local_rows, n, a, lda, options, &
        hss, info) bind(C, name="strata_s_hss_compress_dense")
      import :: c_int, c_int64_t, c_float, c_ptr, strata_hss_options, strata_hss_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows, n, lda
      real(c_float), intent(in) :: a(lda, *)
      type(strata_hss_options), intent(in) :: options
      type(c_ptr), intent(out) :: hss
      type(strata_hss_info), intent(out), optional :: info
    end function strata_s_hss_compress_dense
    integer(c_int) function strata_s_hss_destroy(hss) bind(C, name="strata_s_hss_destroy")
      import :: c_int, c_ptr
      type(c_ptr), value :: hss
    end function strata_s_hss_destroy
    integer(c_int) function strata_s_hss_info(hss, info) bind(C, name="strata_s_hss_info")
      import :: c_int, c_ptr, strata_hss_info
      type(c_ptr), value :: hss
      type(strata_hss_info), intent(out) :: info
    end function strata_s_hss_info
    integer(c_int) function strata_s_hss_matvec(hss, trans, k, x, ldx, y, ldy) &
        bind(C, name="strata_s_hss_matvec")
      import :: c_int, c_int64_t, c_float, c_ptr
      type(c_ptr), value :: hss
      integer(c_int), value :: trans
      integer(c_int64_t), value :: k, ldx, ldy
      real(c_float), intent(in) :: x(ldx, *)
      real(c_float), intent(inout) :: y(ldy, *)
    end function strata_s_hss_matvec
    integer(c_int) function strata_s_hss_factor(hss, variant) bind(C, name="strata_s_hss_factor")
      import :: c_int, c_ptr
      type(c_ptr), value :: hss
      integer(c_int), value :: variant
    end function strata_s_hss_factor
    integer(c_int) function strata_s_hss_solve(hss, k, b, ldb, x, ldx, info) &
        bind(C, name="strata_s_hss_solve")
      import :: c_int, c_int64_t, c_float, c_ptr, strata_solve_info
      type(c_ptr), value :: hss
      integer(c_int64_t), value :: k, ldb, ldx
      real(c_float), intent(in) :: b(ldb, *)
      real(c_float), intent(inout) :: x(ldx, *)
      type(strata_solve_info), intent(out), optional :: info
    end function strata_s_hss_solve
    integer(c_int) function strata_s_hss_save(hss, file) bind(C, name="strata_s_hss_save")
      import :: c_int, c_ptr, c_char
      type(c_ptr), value :: hss
      character(kind=c_char), intent(in) :: file(*)
    end function strata_s_hss_save
    integer(c_int) function strata_s_hss_load(comm, file, local_rows, hss) &
        bind(C, name="strata_s_hss_load")
      import :: c_int, c_int64_t, c_ptr, c_char
      integer(c_int), value :: comm
      character(kind=c_char), intent(in) :: file(*)
      integer(c_int64_t), value :: local_rows
      type(c_ptr), intent(out) :: hss
    end function strata_s_hss_load
  end interface

  ! ---- matrix functions ------------------------------------------------------------------------
  interface
    integer(c_int) function strata_d_polar(comm, local_rows, n, a, lda, q, ldq, options, info) &
        bind(C, name="strata_d_polar")
      import :: c_int, c_int64_t, c_double, strata_polar_options, strata_polar_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows, n, lda, ldq
      real(c_double), intent(in) :: a(lda, *)
      real(c_double), intent(inout) :: q(ldq, *)
      type(strata_polar_options), intent(in) :: options
      type(strata_polar_info), intent(out), optional :: info
    end function strata_d_polar
    integer(c_int) function strata_s_polar(comm, local_rows, n, a, lda, q, ldq, options, info) &
        bind(C, name="strata_s_polar")
      import :: c_int, c_int64_t, c_float, strata_polar_options, strata_polar_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows, n, lda, ldq
      real(c_float), intent(in) :: a(lda, *)
      real(c_float), intent(inout) :: q(ldq, *)
      type(strata_polar_options), intent(in) :: options
      type(strata_polar_info), intent(out), optional :: info
    end function strata_s_polar
    integer(c_int) function strata_d_sign(n, a, lda, s, lds, options, info) &
        bind(C, name="strata_d_sign")
      import :: c_int, c_int64_t, c_double, strata_polar_options, strata_polar_info
      integer(c_int64_t), value :: n, lda, lds
      real(c_double), intent(in) :: a(lda, *)
      real(c_double), intent(inout) :: s(lds, *)
      type(strata_polar_options), intent(in) :: options
      type(strata_polar_info), intent(out), optional :: info
    end function strata_d_sign
    integer(c_int) function strata_s_sign(n, a, lda, s, lds, options, info) &
        bind(C, name="strata_s_sign")
      import :: c_int, c_int64_t, c_float, strata_polar_options, strata_polar_info
      integer(c_int64_t), value :: n, lda, lds
      real(c_float), intent(in) :: a(lda, *)
      real(c_float), intent(inout) :: s(lds, *)
      type(strata_polar_options), intent(in) :: options
      type(strata_polar_info), intent(out), optional :: info
    end function strata_s_sign
    integer(c_int) function strata_d_sqrt(n, a, lda, sqrt_a, ld_sqrt, inverse_sqrt_a, &
        ld_inverse_sqrt, options, info) bind(C, name="strata_d_sqrt")
      import :: c_int, c_int64_t, c_double, strata_polar_options, strata_polar_info
      integer(c_int64_t), value :: n, lda, ld_sqrt, ld_inverse_sqrt
      real(c_double), intent(in) :: a(lda, *)
      real(c_double), intent(inout), optional :: sqrt_a(ld_sqrt, *)
      real(c_double), intent(inout), optional :: inverse_sqrt_a(ld_inverse_sqrt, *)
      type(strata_polar_options), intent(in) :: options
      type(strata_polar_info), intent(out), optional :: info
    end function strata_d_sqrt
    integer(c_int) function strata_s_sqrt(n, a, lda, sqrt_a, ld_sqrt, inverse_sqrt_a, &
        ld_inverse_sqrt, options, info) bind(C, name="strata_s_sqrt")
      import :: c_int, c_int64_t, c_float, strata_polar_options, strata_polar_info
      integer(c_int64_t), value :: n, lda, ld_sqrt, ld_inverse_sqrt
      real(c_float), intent(in) :: a(lda, *)
      real(c_float), intent(inout), optional :: sqrt_a(ld_sqrt, *)
      real(c_float), intent(inout), optional :: inverse_sqrt_a(ld_inverse_sqrt, *)
      type(strata_polar_options), intent(in) :: options
      type(strata_polar_info), intent(out), optional :: info
    end function strata_s_sqrt
  end interface

  ! ---- randomized low-rank approximation and sketching -----------------------------------------
  interface
    integer(c_int) function strata_d_rsvd(comm, local_rows, n, a, lda, options, u, ldu, s, v, &
        ldv, info) bind(C, name="strata_d_rsvd")
      import :: c_int, c_int64_t, c_double, strata_rsvd_options, strata_rsvd_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows, n, lda, ldu, ldv
      real(c_double), intent(in) :: a(lda, *)
      type(strata_rsvd_options), intent(in) :: options
      real(c_double), intent(inout) :: u(ldu, *), s(*), v(ldv, *)
      type(strata_rsvd_info), intent(out), optional :: info
    end function strata_d_rsvd
    integer(c_int) function strata_s_rsvd(comm, local_rows, n, a, lda, options, u, ldu, s, v, &
        ldv, info) bind(C, name="strata_s_rsvd")
      import :: c_int, c_int64_t, c_float, strata_rsvd_options, strata_rsvd_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows, n, lda, ldu, ldv
      real(c_float), intent(in) :: a(lda, *)
      type(strata_rsvd_options), intent(in) :: options
      real(c_float), intent(inout) :: u(ldu, *), s(*), v(ldv, *)
      type(strata_rsvd_info), intent(out), optional :: info
    end function strata_s_rsvd
    integer(c_int) function strata_d_sketch_apply(comm, options, local_rows, k, a, lda, sa, ldsa) &
        bind(C, name="strata_d_sketch_apply")
      import :: c_int, c_int64_t, c_double, strata_sketch_options
      integer(c_int), value :: comm
      type(strata_sketch_options), intent(in) :: options
      integer(c_int64_t), value :: local_rows, k, lda, ldsa
      real(c_double), intent(in) :: a(lda, *)
      real(c_double), intent(inout) :: sa(ldsa, *)
    end function strata_d_sketch_apply
    integer(c_int) function strata_s_sketch_apply(comm, options, local_rows, k, a, lda, sa, ldsa) &
        bind(C, name="strata_s_sketch_apply")
      import :: c_int, c_int64_t, c_float, strata_sketch_options
      integer(c_int), value :: comm
      type(strata_sketch_options), intent(in) :: options
      integer(c_int64_t), value :: local_rows, k, lda, ldsa
      real(c_float), intent(in) :: a(lda, *)
      real(c_float), intent(inout) :: sa(ldsa, *)
    end function strata_s_sketch_apply
    integer(c_int) function strata_d_least_squares(comm, local_rows, n, a, lda, k, b, ldb, &
        options, x, ldx, info) bind(C, name="strata_d_least_squares")
      import :: c_int, c_int64_t, c_double, strata_lstsq_options, strata_lstsq_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows, n, lda, k, ldb, ldx
      real(c_double), intent(in) :: a(lda, *), b(ldb, *)
      type(strata_lstsq_options), intent(in) :: options
      real(c_double), intent(inout) :: x(ldx, *)
      type(strata_lstsq_info), intent(out), optional :: info
    end function strata_d_least_squares
    integer(c_int) function strata_s_least_squares(comm, local_rows, n, a, lda, k, b, ldb, &
        options, x, ldx, info) bind(C, name="strata_s_least_squares")
      import :: c_int, c_int64_t, c_float, strata_lstsq_options, strata_lstsq_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows, n, lda, k, ldb, ldx
      real(c_float), intent(in) :: a(lda, *), b(ldb, *)
      type(strata_lstsq_options), intent(in) :: options
      real(c_float), intent(inout) :: x(ldx, *)
      type(strata_lstsq_info), intent(out), optional :: info
    end function strata_s_least_squares
    integer(c_int) function strata_d_estimate_trace(comm, local_rows, matvec, context, options, &
        info) bind(C, name="strata_d_estimate_trace")
      import :: c_int, c_int64_t, c_funptr, c_ptr, strata_trace_options, strata_trace_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows
      type(c_funptr), value :: matvec
      type(c_ptr), value :: context
      type(strata_trace_options), intent(in) :: options
      type(strata_trace_info), intent(out) :: info
    end function strata_d_estimate_trace
    integer(c_int) function strata_s_estimate_trace(comm, local_rows, matvec, context, options, &
        info) bind(C, name="strata_s_estimate_trace")
      import :: c_int, c_int64_t, c_funptr, c_ptr, strata_trace_options, strata_trace_info
      integer(c_int), value :: comm
      integer(c_int64_t), value :: local_rows
      type(c_funptr), value :: matvec
      type(c_ptr), value :: context
      type(strata_trace_options), intent(in) :: options
      type(strata_trace_info), intent(out) :: info
    end function strata_s_estimate_trace
  end interface

  interface
    function strata_strlen(s) bind(C, name="strlen")
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
      integer(c_size_t) :: strata_strlen
    end function strata_strlen
  end interface
  private :: from_c_string

contains

  !> This thread's last error message as a Fortran string ("" after a success).
  function strata_error_message() result(message)
    character(len=:), allocatable :: message
    message = from_c_string(strata_last_error())
  end function strata_error_message

  !> `text` without trailing blanks and with a terminating c_null_char, for file names.
  function strata_c_string(text) result(c_text)
    character(len=*), intent(in) :: text
    character(kind=c_char, len=:), allocatable :: c_text
    c_text = trim(text) // c_null_char
  end function strata_c_string

  function from_c_string(pointer) result(text)
    type(c_ptr), intent(in) :: pointer
    character(len=:), allocatable :: text
    character(kind=c_char), pointer :: chars(:)
    integer :: i, length
    if (.not. c_associated(pointer)) then
      text = ''
      return
    end if
    length = int(strata_strlen(pointer))
    call c_f_pointer(pointer, chars, [length])
    allocate (character(len=length) :: text)
    do i = 1, length
      text(i:i) = chars(i)
    end do
  end function from_c_string

end module strata
