! Orthogonalize a distributed tall matrix with Polar Express (Strata's Fortran module) and check
! ||Q^T Q - I||_F. A = U diag(1..n) V^T with orthonormal DCT bases; each rank owns a block of rows.
!
!   mpiexec -n 2 ./strata_example_polar_fortran
program polar
  use, intrinsic :: iso_c_binding
#ifdef STRATA_EXAMPLE_MPI
  use mpi
#endif
  use strata
  implicit none
  integer(c_int64_t), parameter :: m = 2000, n = 16
  real(c_double), parameter :: pi = 3.14159265358979323846d0
  type(strata_polar_options) :: options
  type(strata_polar_info) :: info
  integer :: rank, ranks, ierr
  integer(c_int) :: comm
  integer(c_int64_t) :: local_rows, first, i, j, l
  real(c_double), allocatable :: a(:, :), q(:, :)
  real(c_double) :: gram(n, n), error, bound

  rank = 0
  ranks = 1
  comm = 0
  ierr = 0
#ifdef STRATA_EXAMPLE_MPI
  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, ranks, ierr)
  comm = MPI_COMM_WORLD  ! an integer communicator from `use mpi` is an MPI_Fint
#endif
  call check(strata_initialize(c_null_ptr, c_null_ptr))
  local_rows = m / ranks
  first = rank * local_rows + min(rank, int(mod(m, int(ranks, c_int64_t))))
  if (rank < mod(m, int(ranks, c_int64_t))) local_rows = local_rows + 1

  allocate (a(local_rows, n), q(local_rows, n))
  do j = 1, n
    do i = 1, local_rows
      a(i, j) = 0
      do l = 1, n
        a(i, j) = a(i, j) + dct(m, first + i - 1, l - 1) * real(l, c_double) * dct(n, j - 1, l - 1)
      end do
    end do
  end do

  call strata_polar_default_options(options)  ! Polar Express, to working precision
  call check(strata_d_polar(comm, local_rows, n, a, local_rows, q, local_rows, options, info))

  gram = matmul(transpose(q), q)
#ifdef STRATA_EXAMPLE_MPI
  call MPI_Allreduce(MPI_IN_PLACE, gram, int(n * n), MPI_DOUBLE_PRECISION, MPI_SUM, &
                     MPI_COMM_WORLD, ierr)
#endif
  do j = 1, n
    gram(j, j) = gram(j, j) - 1
  end do
  error = sqrt(sum(gram**2))
  ! Stopping test 10 sqrt(n) u, plus n m u for forming Q^T Q here (sums of m products <= 1).
  bound = 10 * sqrt(real(n, c_double)) * epsilon(1d0) + real(n * m, c_double) * epsilon(1d0)
  if (rank == 0) then
    print '(a, i0, a, i0, a, es9.2, a, es9.2, a)', 'Polar Express (Fortran): ', info%iterations, &
      ' iterations on ', ranks, ' ranks, ||Q^T Q - I||_F = ', error, ' (bound ', bound, ')'
  end if
  call check(strata_finalize())
#ifdef STRATA_EXAMPLE_MPI
  call MPI_Finalize(ierr)
#endif
  if (error > bound) error stop 1

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

end program polar
