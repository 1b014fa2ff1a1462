//go:build !unix

package mendflowtest

import "errors"

// lockDir cannot lock here: each build gets a directory of its own.
func lockDir(string) (func(), error) {
	return nil, errors.New("no file locks on this system")
}
