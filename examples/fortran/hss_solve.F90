! Solve A x = b with an HSS approximation of A built from the caller's own distributed product,
! through Strata's Fortran module.
!
! The matrix is the exponential kernel A(i, j) = exp(-0.05 |i - j|) + [i == j] of size n, never
! stored: each rank owns a block of rows and multiplies by them on the fly after gathering the
! vectors from all ranks (MPI_Allgatherv), as a simulation code with its own operator would.
! The program initializes MPI itself (mpi_f08) and hands Strata the communicator as comm%MPI_VAL.
!
!   mpiexec -n 2 ./strata_example_hss_solve_fortran
module hss_example_operator
  use, intrinsic :: iso_c_binding
#ifdef STRATA_EXAMPLE_MPI
  use mpi_f08
#endif
  implicit none
  integer, parameter :: n = 1000

  type :: distributed_operator
    integer(c_int64_t) :: first = 0  ! 0-based global index of this rank's first row
    integer, allocatable :: counts(:), displs(:)
    real(c_double) :: whole(n)
  end type distributed_operator

contains

  pure real(c_double) function entry(i, j)
    integer(c_int64_t), intent(in) :: i, j
    entry = exp(-0.05d0 * abs(real(i - j, c_double)))
    if (i == j) entry = entry + 1
  end function entry

  ! y = A x on this rank's rows (A is symmetric: A^T x is the same product).
  integer(c_int) function apply_kernel(context, trans, local_rows, k, x, ldx, y, ldy) bind(C)
    type(c_ptr), value :: context
    integer(c_int), value :: trans
    integer(c_int64_t), value :: local_rows, k, ldx, ldy
    real(c_double), intent(in) :: x(ldx, *)
    real(c_double), intent(inout) :: y(ldy, *)
    type(distributed_operator), pointer :: op
    integer(c_int64_t) :: i, j, l
    if (trans < 0) error stop "unexpected trans"
    call c_f_pointer(context, op)
    do j = 1, k
#ifdef STRATA_EXAMPLE_MPI
      call MPI_Allgatherv(x(1:local_rows, j), int(local_rows), MPI_DOUBLE_PRECISION, op%whole, op%counts, &
                          op%displs, MPI_DOUBLE_PRECISION, MPI_COMM_WORLD)
#else
      op%whole(1:local_rows) = x(1:local_rows, j)
#endif
      do i = 1, local_rows
        y(i, j) = 0
        do l = 1, n
          y(i, j) = y(i, j) + entry(op%first + i - 1, l - 1) * op%whole(l)
        end do
      end do
    end do
    apply_kernel = 0
  end function apply_kernel

  real(c_double) function global_norm(v)
    real(c_double), intent(in) :: v(:)
    real(c_double) :: s
    s = sum(v**2)
#ifdef STRATA_EXAMPLE_MPI
    call MPI_Allreduce(MPI_IN_PLACE, s, 1, MPI_DOUBLE_PRECISION, MPI_SUM, MPI_COMM_WORLD)
#endif
    global_norm = sqrt(s)
  end function global_norm

end module hss_example_operator

program hss_solve
  use, intrinsic :: iso_c_binding
#ifdef STRATA_EXAMPLE_MPI
  use mpi_f08
#endif
  use strata
  use hss_example_operator
  implicit none
  type(distributed_operator), target :: op
  type(strata_hss_options) :: options
  type(strata_hss_info) :: info
  type(strata_solve_info) :: solve_info
  type(c_ptr) :: hss
  integer :: rank, ranks, r
  integer(c_int) :: comm
  integer(c_int64_t) :: local_rows, i
  real(c_double), allocatable :: x_true(:), b(:), x(:), res(:)
  real(c_double), parameter :: tolerance = 1d-10
  real(c_double) :: residual, bound

  rank = 0
  ranks = 1
  comm = 0
#ifdef STRATA_EXAMPLE_MPI
  call MPI_Init()
  call MPI_Comm_rank(MPI_COMM_WORLD, rank)
  call MPI_Comm_size(MPI_COMM_WORLD, ranks)
  comm = MPI_COMM_WORLD%MPI_VAL
#endif
  call check(strata_initialize(c_null_ptr, c_null_ptr))  ! Kokkos; MPI is left as it is

  allocate (op%counts(ranks), op%displs(ranks))
  do r = 1, ranks
    op%counts(r) = n / ranks
    if (r - 1 < mod(n, ranks)) op%counts(r) = op%counts(r) + 1
  end do
  op%displs(1) = 0
  do r = 2, ranks
    op%displs(r) = op%displs(r - 1) + op%counts(r - 1)
  end do
  local_rows = op%counts(rank + 1)
  op%first = op%displs(rank + 1)

  call strata_hss_default_options(options)
  options%leaf_size = 64
  options%tolerance = tolerance
  call check(strata_d_hss_compress_matvec(comm, local_rows, c_funloc(apply_kernel), c_loc(op), &
                                          options, hss, info))
  call check(strata_d_hss_factor(hss, STRATA_ULV_GENERAL))

  allocate (x_true(local_rows), b(local_rows), x(local_rows), res(local_rows))
  do i = 1, local_rows
    x_true(i) = 1 + sin(0.01d0 * real(op%first + i - 1, c_double))
  end do
  if (apply_kernel(c_loc(op), STRATA_NO_TRANSPOSE, local_rows, 1_c_int64_t, x_true, local_rows, b, &
              local_rows) /= 0) error stop "the product failed"
  call check(strata_d_hss_solve(hss, 1_c_int64_t, b, local_rows, x, local_rows, solve_info))

  ! ||A x - b|| / ||b|| <= sqrt(n) tol cond(A) (see the C example for the derivation; cond(A) <=
  ! 41), with a factor 10 on the randomized estimate behind the tolerance.
  if (apply_kernel(c_loc(op), STRATA_NO_TRANSPOSE, local_rows, 1_c_int64_t, x, local_rows, res, &
              local_rows) /= 0) error stop "the product failed"
  res = res - b
  residual = global_norm(res) / global_norm(b)
  bound = sqrt(real(n, c_double)) * 10 * tolerance * 41
  if (rank == 0) then
    print '(a, i0, a, i0, a, i0, a, es9.2, a, es9.2, a)', 'HSS (Fortran): N = ', n, ' on ', &
      ranks, ' ranks, max rank ', info%max_rank, '; ||A x - b|| / ||b|| = ', residual, &
      ' (bound ', bound, ')'
  end if
  call check(strata_d_hss_destroy(hss))
  call check(strata_finalize())
#ifdef STRATA_EXAMPLE_MPI
  call MPI_Finalize()
#endif
  if (residual > bound) error stop 1

contains

  subroutine check(code)
    integer(c_int), intent(in) :: code
    if (code /= STRATA_SUCCESS) then
      print '(a)', 'Strata failed: '//strata_error_message()
      error stop 1
    end if
  end subroutine check

end program hss_solve
