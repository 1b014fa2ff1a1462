package routing

import "strings"

// Glob is a pattern in which * stands for any run of characters, dots and
// slashes included, so dev.cdevents.repository.created.* and
// https://github.com/acme/* both do what they say. Nothing else is special.
// The rules match types, sources and fields with it; reconcile matches
// repository, product and project names with it, so that both read
// patterns alike.
type Glob struct {
	parts []string // the literal text between the stars
	exact bool     // no star at all
}

// CompileGlob compiles a pattern; every string is a valid one.
func CompileGlob(pattern string) Glob {
	parts := strings.Split(pattern, "*")
	return Glob{parts: parts, exact: len(parts) == 1}
}

// Match reports whether s matches the whole pattern.
func (g Glob) Match(s string) bool {
	if g.exact {
		return s == g.parts[0]
	}
	first, last := g.parts[0], g.parts[len(g.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, p := range g.parts[1 : len(g.parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}
