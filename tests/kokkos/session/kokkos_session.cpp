// Kokkos must be initialized before the first test and finalized after the last. A Catch2 event
// listener does it, so this executable shares recfuse_catch_main (Catch2's main, compiled once)
// with the other test programs instead of compiling Catch2's implementation again.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <Kokkos_Core.hpp>

namespace {

struct kokkos_session : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testRunStarting(Catch::TestRunInfo const& info) override {
    TestEventListenerBase::testRunStarting(info);
    Kokkos::initialize();
  }
  void testRunEnded(Catch::TestRunStats const& stats) override {
    Kokkos::finalize();
    TestEventListenerBase::testRunEnded(stats);
  }
};

}  // namespace

CATCH_REGISTER_LISTENER(kokkos_session)
