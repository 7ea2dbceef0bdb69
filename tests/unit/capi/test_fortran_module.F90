! The Fortran module `strata` on one process: every options type reads back the C defaults (a
! layout mismatch between the bind(C) types and strata.h would scramble them), and the functions
! the examples do not use give known answers through the bind(C) interfaces, with optional
! arguments left out, a Fortran product callback, and error codes with their message.
module fortran_test_support
  use, intrinsic :: iso_c_binding
  implicit none
  integer :: failures = 0
contains
  subroutine expect(condition, what)
    logical, intent(in) :: condition
    character(len=*), intent(in) :: what
    if (.not. condition) then
      print '(a)', 'FAILED: '//what
      failures = failures + 1
    end if
  end subroutine expect

  ! y = diag(1, 2, ..., n) x (the caller's rows are all rows on one process).
  integer(c_int) function diagonal_product(context, trans, local_rows, k, x, ldx, y, ldy) bind(C)
    type(c_ptr), value :: context
    integer(c_int), value :: trans
    integer(c_int64_t), value :: local_rows, k, ldx, ldy
    real(c_double), intent(in) :: x(ldx, *)
    real(c_double), intent(inout) :: y(ldy, *)
    integer(c_int64_t) :: i, j
    if (c_associated(context) .or. trans < 0) then
      diagonal_product = 1
      return
    end if
    do j = 1, k
      do i = 1, local_rows
        y(i, j) = real(i, c_double) * x(i, j)
      end do
    end do
    diagonal_product = 0
  end function diagonal_product
end module fortran_test_support

program test_fortran_module
  use, intrinsic :: iso_c_binding
#ifdef STRATA_TEST_MPI
  use mpi
#endif
  use strata
  use fortran_test_support
  implicit none
  integer(c_int), parameter :: self_comm_default = 0
  integer(c_int64_t), parameter :: n = 8, m = 64
  real(c_double), parameter :: u = epsilon(1d0)
  type(strata_hss_options) :: hss_options
  type(strata_polar_options) :: polar_options
  type(strata_rsvd_options) :: rsvd_options
  type(strata_sketch_options) :: sketch_options
  type(strata_lstsq_options) :: lstsq_options
  type(strata_trace_options) :: trace_options
  type(strata_trace_info) :: trace_info
  type(strata_lstsq_info) :: lstsq_info
  type(strata_hss_info) :: hss_info
  type(c_ptr) :: hss
  integer(c_int) :: comm, code
  integer(c_int64_t) :: i, j
  real(c_double), target :: big(m, m)
  real(c_double) :: a(n, n), s(n, n), root(n, n), x(m, 2), y(m, 2), ls_a(m, 3), &
                    ls_b(m, 1), ls_x(3, 1), sa(4, 2), expected
  real(c_float) :: a32(n, n), s32(n, n)

  comm = self_comm_default
  call expect(strata_initialize(c_null_ptr, c_null_ptr) == STRATA_SUCCESS, 'strata_initialize')
#ifdef STRATA_TEST_MPI
  comm = MPI_COMM_WORLD
#endif

  ! ---- defaults through every bind(C) type --------------------------------------------------
  call strata_hss_default_options(hss_options)
  call expect(hss_options%leaf_size == 64 .and. hss_options%rank == 0 .and. &
              hss_options%tolerance == 1d-6 .and. hss_options%oversampling == 10 .and. &
              hss_options%samples == 0 .and. hss_options%max_samples == 0 .and. &
              hss_options%seed == 0 .and. hss_options%method == STRATA_HSS_LEVITT_MARTINSSON .and. &
              hss_options%error_probes == 10 .and. hss_options%max_rounds == 8, 'hss defaults')
  call strata_polar_default_options(polar_options)
  call expect(polar_options%lower == 1d-3 .and. polar_options%tolerance == 0 .and. &
              polar_options%safety == 1.01d0 .and. polar_options%method == STRATA_POLAR_EXPRESS .and. &
              polar_options%degree == 5 .and. polar_options%steps == 0 .and. &
              polar_options%max_steps == 60 .and. polar_options%scaling == STRATA_SCALING_FROBENIUS, &
              'polar defaults')
  call strata_rsvd_default_options(rsvd_options)
  call expect(rsvd_options%rank == 10 .and. rsvd_options%oversample == 10 .and. &
              rsvd_options%max_rank == 0 .and. rsvd_options%block_size == 16 .and. &
              rsvd_options%seed == 0 .and. rsvd_options%tolerance == 0 .and. &
              rsvd_options%power_iterations == 0 .and. rsvd_options%error_probes == 0, 'rsvd defaults')
  call strata_sketch_default_options(sketch_options)
  call expect(sketch_options%rows == 0 .and. sketch_options%seed == 0 .and. &
              sketch_options%stream == 0 .and. sketch_options%nnz == 8 .and. &
              sketch_options%kind == STRATA_SKETCH_GAUSSIAN .and. &
              sketch_options%isometry_scaling == 1, 'sketch defaults')
  call strata_lstsq_default_options(lstsq_options)
  call expect(lstsq_options%sketch_rows == 0 .and. lstsq_options%sparse_nnz == 8 .and. &
              lstsq_options%seed == 0 .and. lstsq_options%atol == 0 .and. lstsq_options%btol == 0 &
              .and. lstsq_options%method == STRATA_LSTSQ_SKETCH_AND_PRECONDITION .and. &
              lstsq_options%sketch_kind == STRATA_SKETCH_SPARSE_SIGN .and. &
              lstsq_options%max_iterations == 1000, 'lstsq defaults')
  call strata_trace_default_options(trace_options)
  call expect(trace_options%matvecs == 30 .and. trace_options%seed == 0 .and. &
              trace_options%method == STRATA_TRACE_HUTCH_PLUS_PLUS, 'trace defaults')

  ! ---- sign and square root of diagonal matrices: exact answers --------------------------------
  a = 0
  do i = 1, n
    a(i, i) = merge(1d0, -1d0, mod(i, 2_c_int64_t) == 0) * real(i, c_double)
  end do
  call expect(strata_d_sign(n, a, n, s, n, polar_options) == STRATA_SUCCESS, 'strata_d_sign')
  ! cond 8, stopping at 10 sqrt(n) u: 8 * 100 sqrt(n) u.
  do i = 1, n
    call expect(abs(s(i, i) - sign(1d0, a(i, i))) < 800 * sqrt(real(n, c_double)) * u, 'sign value')
  end do
  a32 = real(a, c_float)
  call expect(strata_s_sign(n, a32, n, s32, n, polar_options) == STRATA_SUCCESS, 'strata_s_sign')
  call expect(abs(s32(2, 2) - 1) < 800 * sqrt(real(n, c_float)) * epsilon(1.0), 's sign value')
  a = abs(a)
  call expect(strata_d_sqrt(n, a, n, sqrt_a=root, ld_sqrt=n, ld_inverse_sqrt=n, &
                            options=polar_options) == STRATA_SUCCESS, 'strata_d_sqrt')
  do i = 1, n
    call expect(abs(root(i, i) - sqrt(a(i, i))) < 800 * sqrt(real(n, c_double)) * u * sqrt(a(i, i)), &
                'sqrt value')
  end do

  ! ---- trace through a Fortran callback: exact for a budget above 3 m -------------------------
  trace_options%matvecs = 3 * m + 3
  call expect(strata_d_estimate_trace(comm, m, c_funloc(diagonal_product), c_null_ptr, &
                                      trace_options, trace_info) == STRATA_SUCCESS, 'trace')
  expected = real(m * (m + 1) / 2, c_double)
  call expect(abs(trace_info%estimate - expected) < 100 * u * expected, 'trace value')
  ! A callback that fails (it refuses a non-null context).
  code = strata_d_estimate_trace(comm, m, c_funloc(diagonal_product), c_loc(big), trace_options, &
                                 trace_info)
  call expect(code == STRATA_ERROR_CALLBACK, 'callback failure code')
  call expect(index(strata_error_message(), 'returned 1') > 0, 'callback failure message')

  ! ---- sketch apply: S (d x m) times columns that are multiples of each other ------------------
  do i = 1, m
    x(i, 1) = real(i, c_double)
    x(i, 2) = 2 * real(i, c_double)
  end do
  sketch_options%rows = 4
  call expect(strata_d_sketch_apply(comm, sketch_options, m, 2_c_int64_t, x, m, sa, 4_c_int64_t) &
              == STRATA_SUCCESS, 'sketch apply')
  ! S (2 x) = 2 S x exactly (scaling by 2 commutes with rounding).
  call expect(all(sa(:, 2) == 2 * sa(:, 1)) .and. any(sa(:, 1) /= 0), 'sketch linearity')
  call expect(strata_d_sketch_apply(comm, sketch_options, m, 2_c_int64_t, x, m - 1, sa, 4_c_int64_t) &
              == STRATA_ERROR_SHAPE_MISMATCH, 'sketch leading dimension')
  call expect(index(strata_error_message(), 'leading dimension') > 0, 'leading dimension message')

  ! ---- least squares: a consistent system with a well-conditioned A --------------------------
  do j = 1, 3
    do i = 1, m
      ls_a(i, j) = cos(0.1d0 * real(i * j, c_double)) + merge(2d0, 0d0, i == j)
    end do
  end do
  ls_b(:, 1) = ls_a(:, 1) - ls_a(:, 2) + 3 * ls_a(:, 3)
  call expect(strata_d_least_squares(comm, m, 3_c_int64_t, ls_a, m, 1_c_int64_t, ls_b, m, &
                                     lstsq_options, ls_x, 3_c_int64_t, lstsq_info) &
              == STRATA_SUCCESS, 'least squares')
  ! cond(A) is modest (< 100 for these columns); LSQR's 10 u tolerance times cond times 1e2.
  call expect(abs(ls_x(1, 1) - 1) < 1d-10 .and. abs(ls_x(2, 1) + 1) < 1d-10 .and. &
              abs(ls_x(3, 1) - 3) < 1d-10, 'least squares value')

  ! ---- HSS from a dense matrix, matvec, save and load -------------------------------------------
  do j = 1, m
    do i = 1, m
      big(i, j) = exp(-0.1d0 * abs(real(i - j, c_double)))
    end do
  end do
  hss_options%leaf_size = 8
  hss_options%rank = 4
  call expect(strata_d_hss_compress_dense(comm, m, m, big, m, hss_options, hss, hss_info) &
              == STRATA_SUCCESS, 'hss compress dense')
  call expect(hss_info%rows == m .and. hss_info%max_rank <= 4, 'hss info')
  call expect(strata_d_hss_matvec(hss, STRATA_NO_TRANSPOSE, 2_c_int64_t, x, m, y, m) &
              == STRATA_SUCCESS, 'hss matvec')
  ! Exactly semi-separable: the product matches the dense one to rounding (1e-9, as in the C test).
  call expect(sqrt(sum((y - matmul(big, x))**2) / sum(matmul(big, x)**2)) < 1d-9, 'hss matvec value')
#ifdef STRATA_TEST_HDF5
  call expect(strata_d_hss_save(hss, strata_c_string('test_fortran_module.h5')) == STRATA_SUCCESS, &
              'hss save')
  call expect(strata_d_hss_destroy(hss) == STRATA_SUCCESS, 'hss destroy')
  call expect(strata_d_hss_load(comm, strata_c_string('test_fortran_module.h5'), m, hss) &
              == STRATA_SUCCESS, 'hss load')
  y = 0
  call expect(strata_d_hss_matvec(hss, STRATA_TRANSPOSE, 2_c_int64_t, x, m, y, m) &
              == STRATA_SUCCESS, 'hss matvec after load')
  call expect(sqrt(sum((y - matmul(transpose(big), x))**2) / sum(matmul(big, x)**2)) < 1d-9, &
              'hss matvec after load value')
  open (newunit=i, file='test_fortran_module.h5', status='old')
  close (i, status='delete')
#endif
  call expect(strata_d_hss_destroy(hss) == STRATA_SUCCESS, 'hss destroy')
  call expect(strata_d_hss_matvec(c_null_ptr, 0, 1_c_int64_t, x, m, y, m) &
              == STRATA_ERROR_INVALID_ARGUMENT, 'null handle')

  call expect(strata_finalize() == STRATA_SUCCESS, 'strata_finalize')
  if (failures > 0) then
    print '(i0, a)', failures, ' check(s) failed'
    error stop 1
  end if
  print '(a)', 'all Fortran module checks passed'
end program test_fortran_module
