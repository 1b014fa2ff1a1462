package mend

import (
	"slices"
	"testing"
)

// TestOperationTableIsComplete: every call the client makes has its row
// in the operation table, citing what it rests on, and the table has no
// row for a call the client does not make.
func TestOperationTableIsComplete(t *testing.T) {
	t.Parallel()
	calls := append(RequestTypes(), RESTOperations()...)
	for _, name := range calls {
		op, ok := operations[name]
		switch {
		case !ok:
			t.Errorf("%s has no row in the operation table", name)
		case op.source == "":
			t.Errorf("%s: the row cites nothing", name)
		case op.once && !op.mutates:
			t.Errorf("%s: sent once, yet it changes nothing", name)
		}
	}
	for name := range operations {
		if !slices.Contains(calls, name) {
			t.Errorf("the operation table has a row for %s, which the client does not send", name)
		}
	}
	for _, row := range retryTable {
		if row.source == "" || row.failure == "" {
			t.Errorf("retry row %q cites nothing", row.failure)
		}
	}
}
