// The OpenMP wait policy the command runs under.
#pragma once

namespace edgerun::cli {

// libgomp (the OpenMP runtime under Debian's oneDNN) reads its wait policy once, when it loads.
// Its default keeps idle threads spinning for a while after every parallel region, and on a
// machine whose cores are shared that spinning takes the core from the very thread running the
// model: MobileNetV3-small at 2 threads took 11-31 ms a run instead of 5.6 ms. Unless the caller
// chose a policy (OMP_WAIT_POLICY or GOMP_SPINCOUNT), this restarts the process once with
// OMP_WAIT_POLICY=PASSIVE; if that fails it goes on under the default.
void prefer_passive_openmp(char** argv);

}  // namespace edgerun::cli
