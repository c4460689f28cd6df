// Package testutil holds helpers shared by the tests of several packages.
// Only _test.go files import it.
//
// # Usage
//
//	py := testutil.Python(t, "h5py", "numpy")  // fails the test when missing
//	out := testutil.RunPython(t, []string{"numpy"}, script, arg1, arg2)
//
//	// the GPU kit (pkg/gpu, pkg/gpu/gpunn): fake CUDA libraries and the
//	// host emulator of the kernels, from pkg/gpu/testdata
//	cc, cxx, missing := testutil.Compilers()
//	objs, err := testutil.EmulatorObjects(cxx, dir, testdata)
//	libcuda, err := testutil.LinkEmulatedCuda(cc, cxx, dir, testdata, objs)
//	libnvrtc, err := testutil.BuildCLib(cc, dir, testdata, "fakenvrtc.c")
package testutil
