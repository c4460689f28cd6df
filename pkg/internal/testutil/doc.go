// Package testutil holds helpers shared by the tests of several packages.
// Only _test.go files import it.
//
// # Usage
//
//	py := testutil.Python(t, "h5py", "numpy")  // fails the test when missing
//	out := testutil.RunPython(t, []string{"numpy"}, script, arg1, arg2)
package testutil
