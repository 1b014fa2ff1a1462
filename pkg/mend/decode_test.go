package mend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mendflow/mendflow/pkg/mend"
)

// oddMend answers every v1.4 request with answer, counting the requests.
type oddMend struct {
	answer string
	mu     sync.Mutex
	calls  int
}

// count is how many requests it answered.
func (m *oddMend) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

func (m *oddMend) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	m.calls++
	m.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(m.answer))
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestChangeWithAnOddAnswerIsSentOnce: Mend made the change, and its
// answer holds a field in a shape the client did not expect (projectTags
// as a list, where saveProjectTag's page shows one object). The call
// succeeds at once, with the fields that could be read, and says in the
// log what it could not read; a read with the same answer fails and is
// retried.
func TestChangeWithAnOddAnswerIsSentOnce(t *testing.T) {
	t.Parallel()
	m := &oddMend{answer: `{"projectTags": [{"name": "p", "token": "t", "tags": {"k": ["v"]}}], "extra": {"nested": true}}`}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	var logs lockedBuffer
	c, err := mend.NewClient(srv.URL, "key", mend.WithRetry(fastRetry), mend.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, resp, err := c.Projects.SaveTag(ctx, &mend.ProjectTagRequest{ProjectToken: "t", TagKey: "k", TagValue: "v"})
	if err != nil || resp.Attempts != 1 || m.count() != 1 {
		t.Fatalf("SaveTag = %v after %d requests, want success at the first", err, m.count())
	}
	if res.ProjectTags.Name != "" {
		t.Errorf("SaveTag answered %+v, want the unread field left empty", res)
	}
	if line := logs.String(); !strings.Contains(line, "operation=saveProjectTag") || !strings.Contains(line, "unread=projectTags") {
		t.Errorf("log %q does not say that saveProjectTag's projectTags could not be read", line)
	}

	srv.Config.Handler = &oddMend{answer: `{"projectTags": {"name": "p"}}`} // a read expecting a list
	_, resp, err = c.Projects.GetTags(ctx, &mend.GetProjectTagsRequest{ProjectToken: "t"})
	var decErr *mend.DecodeError
	if !errors.As(err, &decErr) || resp.Attempts != fastRetry.MaxAttempts {
		t.Errorf("GetTags = %v after %v, want a DecodeError after %d attempts", err, resp, fastRetry.MaxAttempts)
	}
}

// TestChangeAnswerNotJSON: an answer to a change that is no JSON at all
// is success too.
func TestChangeAnswerNotJSON(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&oddMend{answer: `<html>OK</html>`})
	t.Cleanup(srv.Close)
	c, err := mend.NewClient(srv.URL, "key", mend.WithRetry(fastRetry))
	if err != nil {
		t.Fatal(err)
	}
	if _, resp, err := c.Products.Create(context.Background(), &mend.CreateProductRequest{OrgToken: "o", ProductName: "p"}); err != nil || resp.Attempts != 1 {
		t.Errorf("Create = %v, %v; want success at the first attempt", err, resp)
	}
}

func TestTimeLayouts(t *testing.T) {
	t.Parallel()
	want := time.Date(2020, 3, 9, 15, 28, 38, 0, time.UTC)
	for _, in := range []string{`"2020-03-09T15:28:38Z"`, `"2020-03-09 15:28:38 +0000"`, `"2020-03-09 15:28:38"`, `"2020-03-09T16:28:38+01:00"`} {
		var got mend.Time
		if err := json.Unmarshal([]byte(in), &got); err != nil || !got.Equal(want) {
			t.Errorf("Time of %s = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{`null`, `""`} {
		var got mend.Time
		if err := json.Unmarshal([]byte(in), &got); err != nil || !got.IsZero() {
			t.Errorf("Time of %s = %v, %v; want zero", in, got, err)
		}
	}
	var bad mend.Time
	if err := json.Unmarshal([]byte(`"09/03/2020"`), &bad); err == nil {
		t.Error("Time of 09/03/2020 decoded; want an error")
	}
	out, err := json.Marshal(mend.Time{Time: want})
	if err != nil || string(out) != `"2020-03-09T15:28:38Z"` {
		t.Errorf("Marshal = %s, %v; want RFC 3339", out, err)
	}
}
