package eventdata

import "testing"

func TestIsJSON(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]bool{
		"": true, "application/json": true, "Application/JSON; charset=utf-8": true,
		"application/vnd.github+json": true, "text/json": true,
		"text/plain": false, "application/xml": false, "application/jsonx": false,
	} {
		if got := IsJSON(ct); got != want {
			t.Errorf("IsJSON(%q) = %v, want %v", ct, got, want)
		}
	}
}
