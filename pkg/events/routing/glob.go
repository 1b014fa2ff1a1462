package routing

import "strings"

// glob is a pattern in which * stands for any run of characters, dots and
// slashes included, so dev.cdevents.repository.created.* and
// https://github.com/acme/* both do what they say. Nothing else is special.
type glob struct {
	parts []string // the literal text between the stars
	exact bool     // no star at all
}

func compileGlob(pattern string) glob {
	parts := strings.Split(pattern, "*")
	return glob{parts: parts, exact: len(parts) == 1}
}

func (g glob) match(s string) bool {
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
