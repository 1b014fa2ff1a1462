// Package scmtest serves fakes of the GitHub and GitLab APIs that list
// repositories and read a file, for tests and benchmarks of reconcile:
// the documented
// paths, authentication headers, answer shapes (the clients' own types)
// and paging (GitHub's Link header; GitLab's X-Next-Page, X-Total-Pages
// and the others).
package scmtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-github/v93/github"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// Server is a fake SCM API on a loopback port.
type Server struct {
	*httptest.Server
	// Calls counts the listing calls answered.
	Calls atomic.Int64

	mu    sync.Mutex
	files map[string][]byte // "owner/repo\x00path\x00ref"
}

// SetFile makes the fake serve content as the file path of the repository
// fullName (GitHub's owner/repo, GitLab's project path) at ref, or at any
// ref when ref is empty. The GitHub fake answers GET
// /repos/{owner}/{repo}/contents/{path}?ref= as GitHub does, base64 in a
// RepositoryContent; the GitLab fake answers GET
// /api/v4/projects/{id}/repository/files/{file_path}/raw?ref= with the
// bytes.
func (s *Server) SetFile(fullName, path, ref string, content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		s.files = map[string][]byte{}
	}
	s.files[fullName+"\x00"+path+"\x00"+ref] = content
}

func (s *Server) file(fullName, path, ref string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.files[fullName+"\x00"+path+"\x00"+ref]; ok {
		return b, true
	}
	b, ok := s.files[fullName+"\x00"+path+"\x00"]
	return b, ok
}

// serveFile answers a contents request of the GitHub fake, reporting
// whether path was one.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, path string) bool {
	rest, ok := strings.CutPrefix(path, "/repos/")
	if !ok {
		return false
	}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) != 4 || parts[2] != "contents" {
		return false
	}
	b, ok := s.file(parts[0]+"/"+parts[1], parts[3], r.URL.Query().Get("ref"))
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		writeJSON(w, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/contents"})
		return true
	}
	writeJSON(w, &github.RepositoryContent{
		Type: github.Ptr("file"), Encoding: github.Ptr("base64"), Size: github.Ptr(len(b)),
		Name: github.Ptr(parts[3][strings.LastIndexByte(parts[3], '/')+1:]), Path: github.Ptr(parts[3]),
		Content: github.Ptr(base64.StdEncoding.EncodeToString(b)),
	})
	return true
}

// page returns the items of one page (from 1) of at most size, and the
// number of pages.
func page[T any](items []T, r *http.Request, maxSize int) ([]T, int, int, int) {
	size, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if size <= 0 || size > maxSize {
		size = maxSize
	}
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	n = max(n, 1)
	pages := max((len(items)+size-1)/size, 1)
	lo := min((n-1)*size, len(items))
	hi := min(lo+size, len(items))
	return items[lo:hi], n, pages, size
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// GitHub serves GET /orgs/{org}/repos (and /api/v3/orgs/{org}/repos, as
// GitHub Enterprise Server does) for the organization org, answering
// requests that carry the token, pageSize repositories a page at most, and
// the files given to SetFile.
func GitHub(org, token string, repos []*github.Repository, pageSize int) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, "/api/v3")
		if r.Method == http.MethodGet && r.Header.Get("Authorization") == "Bearer "+token && s.serveFile(w, r, path) {
			return
		}
		if r.Method != http.MethodGet || path != "/orgs/"+org+"/repos" {
			w.WriteHeader(http.StatusNotFound)
			writeJSON(w, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			writeJSON(w, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
			return
		}
		s.Calls.Add(1)
		items, n, pages, size := page(repos, r, pageSize)
		link := func(p int, rel string) string {
			u := *r.URL
			u.Scheme, u.Host = "http", r.Host
			q := u.Query()
			q.Set("page", strconv.Itoa(p))
			q.Set("per_page", strconv.Itoa(size))
			u.RawQuery = q.Encode()
			return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
		}
		var links []string
		if n < pages {
			links = append(links, link(n+1, "next"), link(pages, "last"))
		}
		if n > 1 {
			links = append(links, link(1, "first"), link(n-1, "prev"))
		}
		if len(links) > 0 {
			w.Header().Set("Link", strings.Join(links, ", "))
		}
		writeJSON(w, items)
	}))
	return s
}

// serveRawFile answers a raw file request of the GitLab fake, reporting
// whether the request was one. Its project and file path are each one
// escaped segment.
func (s *Server) serveRawFile(w http.ResponseWriter, r *http.Request) bool {
	seg := strings.Split(r.URL.EscapedPath(), "/")
	if len(seg) != 9 || strings.Join(seg[:4], "/") != "/api/v4/projects" || seg[5] != "repository" || seg[6] != "files" || seg[8] != "raw" {
		return false
	}
	project, err1 := url.PathUnescape(seg[4])
	path, err2 := url.PathUnescape(seg[7])
	b, ok := s.file(project, path, r.URL.Query().Get("ref"))
	if err1 != nil || err2 != nil || !ok {
		w.WriteHeader(http.StatusNotFound)
		writeJSON(w, map[string]string{"message": "404 File Not Found"})
		return true
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(b)
	return true
}

// GitLab serves GET /api/v4/groups/{id}/projects for the group of that
// full path, answering requests whose PRIVATE-TOKEN is token, pageSize
// projects a page at most, and the files given to SetFile. The projects
// are given as listed with include_subgroups=true.
func GitLab(group, token string, projects []*gitlab.Project, pageSize int) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.Header.Get("PRIVATE-TOKEN") == token && s.serveRawFile(w, r) {
			return
		}
		want := "/api/v4/groups/" + url.PathEscape(group) + "/projects"
		if r.Method != http.MethodGet || r.URL.EscapedPath() != want {
			w.WriteHeader(http.StatusNotFound)
			writeJSON(w, map[string]string{"message": "404 Group Not Found"})
			return
		}
		if r.Header.Get("PRIVATE-TOKEN") != token {
			w.WriteHeader(http.StatusUnauthorized)
			writeJSON(w, map[string]string{"message": "401 Unauthorized"})
			return
		}
		s.Calls.Add(1)
		list := projects
		if r.URL.Query().Get("include_subgroups") != "true" {
			list = nil
			for _, p := range projects {
				if p.Namespace != nil && p.Namespace.FullPath == group {
					list = append(list, p)
				}
			}
		}
		items, n, pages, size := page(list, r, pageSize)
		h := w.Header()
		h.Set("X-Page", strconv.Itoa(n))
		h.Set("X-Per-Page", strconv.Itoa(size))
		h.Set("X-Total", strconv.Itoa(len(list)))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
		h.Set("X-Next-Page", "")
		if n < pages {
			h.Set("X-Next-Page", strconv.Itoa(n+1))
		}
		h.Set("X-Prev-Page", "")
		if n > 1 {
			h.Set("X-Prev-Page", strconv.Itoa(n-1))
		}
		writeJSON(w, items)
	}))
	return s
}

// GitHubRepos makes n repositories of an organization, named
// <prefix>-00000 and on, with the topics topic(i) gives.
func GitHubRepos(org, prefix string, n int, topics func(i int) []string) []*github.Repository {
	out := make([]*github.Repository, n)
	for i := range out {
		name := fmt.Sprintf("%s-%05d", prefix, i)
		out[i] = &github.Repository{
			ID: github.Ptr(int64(100000 + i)), Name: github.Ptr(name), FullName: github.Ptr(org + "/" + name),
			Owner:   &github.User{Login: github.Ptr(org), Type: github.Ptr("Organization")},
			HTMLURL: github.Ptr("https://github.com/" + org + "/" + name), Topics: topics(i),
			Archived: github.Ptr(false), Visibility: github.Ptr("private"), DefaultBranch: github.Ptr("main"),
		}
	}
	return out
}
