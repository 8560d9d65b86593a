// RECFUSE_ASSERT is live where NDEBUG is not defined (the sanitizer preset): indexing a view past
// its extent must abort. A child process makes the bad access; the test passes only when that
// child dies of SIGABRT. Where NDEBUG compiles the assertion out it reports a skip (exit 77).
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <vector>

#include "recfuse/core/views.hpp"

int main() {
#ifdef NDEBUG
  std::puts("view_index: RECFUSE_ASSERT is compiled out (NDEBUG): skipped");
  return 77;
#else
  const pid_t child = fork();
  if (child == 0) {
    std::vector<float> v(4, 1.0f);
    const recfuse::vector_view<float> view(v.data(), 3);
    volatile recfuse::index_t i = 3;  // one past the view's extent, still inside the vector
    std::printf("view_index: read %g past the extent without an assertion\n", view[i]);
    _exit(0);
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child) return 2;
  const bool aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  std::printf("view_index: the out-of-range index %s\n",
              aborted ? "aborted on RECFUSE_ASSERT" : "was NOT caught");
  return aborted ? 0 : 1;
#endif
}
