# The load test, small and bounded (scripts/loadtest.sh with wrk and scripts/loadtest.lua;
# docs/service.md "Load test"): recfuse-service on generated data (DATA/u.data absent) with a
# snapshot directory; /recommend at 200 requests/s, the /recommend + /search + /events mix as fast
# as it goes, event visibility, then 10 s of the mix with a kill -9 and a restart in the middle and
# one more kill -9 and restart at the end. The latency and throughput bounds are loose (a loaded CI
# machine must not flake: p99 <= 100 ms, >= 100 requests/s, events visible within 250 ms); the
# test fails on any non-2xx response or socket error outside the restart window, on a lost or an
# invented event, and when no traffic was served after the restart. About 25 s on 2 cores; skipped
# ("wrk not found: skipped") where wrk or curl is missing (scripts/install-deps.sh test installs
# them). Included from tests/service/CMakeLists.txt, where the target recfuse-service is known.
add_test(NAME service_loadtest
         COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/loadtest.sh
                 --service $<TARGET_FILE:recfuse-service>
                 --data ${CMAKE_CURRENT_BINARY_DIR}/no-such-dir
                 --work ${CMAKE_CURRENT_BINARY_DIR}/loadtest
                 --goals ci --check --duration 3 --rate 200
                 --restart-duration 10 --restart-rate 200)
set_tests_properties(service_loadtest PROPERTIES
  TIMEOUT 180 RUN_SERIAL TRUE SKIP_REGULAR_EXPRESSION "not found: skipped")
