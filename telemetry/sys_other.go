//go:build !linux && !darwin && !windows && !freebsd

package telemetry

func rawMachineID() string { return "" }
func osVersion() string    { return "" }
func memoryMB() int64      { return 0 }
func inContainer() bool    { return false }
func inWSL() bool          { return false }
