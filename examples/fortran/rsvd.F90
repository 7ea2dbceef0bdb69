! Randomized SVD of a distributed matrix with known singular values (Strata's Fortran module):
! A = U diag(sigma) V^T (m x n, rank 8, sigma_j = 2^-j) with orthonormal DCT bases.
!
!   mpiexec -n 2 ./strata_example_rsvd_fortran
program rsvd
  use, intrinsic :: iso_c_binding
#ifdef STRATA_EXAMPLE_MPI
  use mpi
#endif
  use strata
  implicit none
  integer(c_int64_t), parameter :: m = 1000, n = 40, rank_of_a = 8, k = 5, oversample = 10
  real(c_double), parameter :: pi = 3.14159265358979323846d0
  type(strata_rsvd_options) :: options
  type(strata_rsvd_info) :: info
  integer :: rank, ranks, ierr
  integer(c_int) :: comm
  integer(c_int64_t) :: local_rows, first, i, j, l
  real(c_double), allocatable :: a(:, :), u(:, :)
  real(c_double) :: s(k), v(n, k), worst, bound

  rank = 0
  ranks = 1
  comm = 0
  ierr = 0
#ifdef STRATA_EXAMPLE_MPI
  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, ranks, ierr)
  comm = MPI_COMM_WORLD
#endif
  call check(strata_initialize(c_null_ptr, c_null_ptr))
  local_rows = m / ranks
  first = rank * local_rows + min(rank, int(mod(m, int(ranks, c_int64_t))))
  if (rank < mod(m, int(ranks, c_int64_t))) local_rows = local_rows + 1

  allocate (a(local_rows, n), u(local_rows, k))
  do j = 1, n
    do i = 1, local_rows
      a(i, j) = 0
      do l = 1, rank_of_a
        a(i, j) = a(i, j) + dct(m, first + i - 1, l - 1) * 2d0**(-(l - 1)) * dct(n, j - 1, l - 1)
      end do
    end do
  end do

  call strata_rsvd_default_options(options)
  options%rank = k
  options%oversample = oversample
  call check(strata_d_rsvd(comm, local_rows, n, a, local_rows, options, u, local_rows, s, v, n, &
                           info))

  ! rank(A) = 8 <= k + p: only rounding separates s from sigma (see the C example):
  ! 100 sqrt(k + p) (sqrt(m) + sqrt(n)) u ||A||_2.
  bound = 100 * sqrt(real(k + oversample, c_double)) * &
          (sqrt(real(m, c_double)) + sqrt(real(n, c_double))) * epsilon(1d0)
  worst = 0
  do j = 1, k
    worst = max(worst, abs(s(j) - 2d0**(-(j - 1))))
  end do
  if (rank == 0) then
    print '(a, i0, a, 5f18.15, a, es9.2, a, es9.2, a)', 'randomized SVD (Fortran) on ', ranks, &
      ' ranks: s =', s, '; max |s_j - sigma_j| = ', worst, ' (bound ', bound, ')'
  end if
  call check(strata_finalize())
#ifdef STRATA_EXAMPLE_MPI
  call MPI_Finalize(ierr)
#endif
  if (worst > bound) error stop 1

contains

  pure real(c_double) function dct(size, i, j)
    integer(c_int64_t), intent(in) :: size, i, j
    dct = sqrt(merge(1d0, 2d0, j == 0) / real(size, c_double)) * &
          cos(pi * (real(i, c_double) + 0.5d0) * real(j, c_double) / real(size, c_double))
  end function dct

  subroutine check(code)
    integer(c_int), intent(in) :: code
    if (code /= STRATA_SUCCESS) then
      print '(a)', 'Strata failed: '//strata_error_message()
      error stop 1
    end if
  end subroutine check

end program rsvd
