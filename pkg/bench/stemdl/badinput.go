package stemdl

// BadInput marks a DataError as bad input (exit code 2 in the CLI).
func (e *DataError) BadInput() bool { return true }
