package handlers

import (
	"context"
	"maps"
	"sync"
	"time"
)

// nameCache remembers, per scope (an organization, a product), the names
// of what the scope holds and their tokens, as one list call of Mend gives
// them. Entries live for a short TTL; a name not found is looked up afresh
// at once, since it is most often something just created, unless the list
// is only moments old (the same command asking twice). Concurrent lookups
// of one scope share a single list call.
type nameCache struct {
	ttl time.Duration
	now func() time.Time

	mu     sync.Mutex
	scopes map[string]*scopeNames
}

// recentList is how old a list must be before a miss lists the scope again.
const recentList = time.Second

type scopeNames struct {
	names   map[string]string // name to token
	fetched time.Time
	loading chan struct{} // closed when the list call in progress ends
	err     error         // of the last list call
}

// listFunc lists the names and tokens of a scope.
type listFunc func(ctx context.Context) (map[string]string, error)

func newNameCache(ttl time.Duration, now func() time.Time) *nameCache {
	return &nameCache{ttl: ttl, now: now, scopes: make(map[string]*scopeNames)}
}

// lookup returns the token of name in scope, listing the scope with list
// when the cached list is stale or lacks the name.
func (c *nameCache) lookup(ctx context.Context, scope, name string, list listFunc) (string, bool, error) {
	c.mu.Lock()
	s := c.scopes[scope]
	if s != nil && s.loading == nil && s.names != nil {
		age := c.now().Sub(s.fetched)
		tok, ok := s.names[name]
		if age < c.ttl && ok || age < recentList {
			c.mu.Unlock()
			return tok, ok, nil
		}
	}
	c.mu.Unlock()
	return c.relist(ctx, scope, name, list)
}

// relist lists scope again, whatever the cache holds, and returns the token
// of name: after Mend said a name is taken, only a fresh list can tell.
func (c *nameCache) relist(ctx context.Context, scope, name string, list listFunc) (string, bool, error) {
	names, err := c.refresh(ctx, scope, list)
	if err != nil {
		return "", false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	tok, ok := names[name]
	return tok, ok, nil
}

// refresh lists scope again, or waits for a list call already under way,
// and returns a copy of the names listed.
func (c *nameCache) refresh(ctx context.Context, scope string, list listFunc) (map[string]string, error) {
	c.mu.Lock()
	s := c.scopes[scope]
	if s == nil {
		s = &scopeNames{}
		c.scopes[scope] = s
	}
	if ch := s.loading; ch != nil {
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return maps.Clone(s.names), s.err
	}
	ch := make(chan struct{})
	s.loading = ch
	c.mu.Unlock()

	names, err := list(ctx)

	c.mu.Lock()
	defer c.mu.Unlock()
	s.err = err
	if err == nil {
		s.names, s.fetched = names, c.now()
	}
	s.loading = nil
	close(ch)
	// A copy: put and forget change the cached map under c.mu, while
	// callers read what they get without it.
	return maps.Clone(s.names), err
}

// put records a name the worker just created, so that the next command
// naming it needs no list call.
func (c *nameCache) put(scope, name, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.scopes[scope]
	if s == nil || s.names == nil {
		return // no list yet: the next lookup lists the scope anyway
	}
	s.names[name] = token
}

// forget drops the name of a token the worker just deleted.
func (c *nameCache) forget(scope, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.scopes[scope]
	if s == nil {
		return
	}
	for name, tok := range s.names {
		if tok == token {
			delete(s.names, name)
		}
	}
}

// drop forgets a whole scope, such as the projects of a deleted product.
func (c *nameCache) drop(scope string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.scopes, scope)
}

// peek returns the token of name in scope if a fresh list holds it,
// without any call.
func (c *nameCache) peek(scope, name string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.scopes[scope]
	if s == nil || s.names == nil || c.now().Sub(s.fetched) >= c.ttl {
		return "", false
	}
	tok, ok := s.names[name]
	return tok, ok
}

// nameOf returns the name of token in scope if a fresh list holds it,
// without any call.
func (c *nameCache) nameOf(scope, token string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.scopes[scope]
	if s == nil || s.names == nil || c.now().Sub(s.fetched) >= c.ttl {
		return "", false
	}
	return nameOfToken(s.names, token)
}

// nameOfToken returns the name that names maps to token.
func nameOfToken(names map[string]string, token string) (string, bool) {
	for name, tok := range names {
		if tok == token {
			return name, true
		}
	}
	return "", false
}

// listedSince reports whether scope was listed at or after t: a list that
// recent tells the truth of now, and needs no second look.
func (c *nameCache) listedSince(scope string, t time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.scopes[scope]
	return s != nil && s.names != nil && !s.fetched.Before(t)
}

// homeCache remembers the product of a project, as a lookup by token or a
// list of the product found it, for a short TTL: a project named by its
// token alone then needs no call to find the product that deleteProject
// asks for.
type homeCache struct {
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	homes map[string]home // project token to its product
	swept time.Time       // when entries past their TTL were last dropped
}

type home struct {
	product string
	seen    time.Time
}

func newHomeCache(ttl time.Duration, now func() time.Time) *homeCache {
	return &homeCache{ttl: ttl, now: now, homes: make(map[string]home)}
}

// get returns the product of project, if a fresh entry has it.
func (c *homeCache) get(project string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.homes[project]
	if !ok || c.now().Sub(h.seen) >= c.ttl {
		return "", false
	}
	return h.product, true
}

// put notes that project is in product, now.
func (c *homeCache) put(project, product string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	// Entries past their TTL are dropped once a TTL: the map stays about
	// as big as the projects seen in the last two.
	if now.Sub(c.swept) >= c.ttl {
		for tok, h := range c.homes {
			if now.Sub(h.seen) >= c.ttl {
				delete(c.homes, tok)
			}
		}
		c.swept = now
	}
	c.homes[project] = home{product: product, seen: now}
}

// forget drops what is known of project.
func (c *homeCache) forget(project string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.homes, project)
}
