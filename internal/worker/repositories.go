package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/handlers"
)

// repositoriesBucket maps repositories to the Mend projects they became
// (handlers.Repositories). Its entries do not expire: a repository may
// live for years between two events.
const repositoriesBucket = "MENDFLOW_REPOSITORIES"

// kvRepositories are handlers.Repositories in a bucket, one key per
// organization and repository.
type kvRepositories struct{ kv jetstream.KeyValue }

// repositoryEntry is an entry as stored: the project, and whose it is, so
// that an operator reading the bucket sees what each key stands for.
type repositoryEntry struct {
	OrgToken   string            `json:"orgToken"`
	Repository events.Repository `json:"repository"`
	handlers.MappedProject
}

// repositoryKey is the key of a repository of org: the hex SHA-256 of the
// organization, the repository's source and its id, so that any id makes
// a valid key.
func repositoryKey(org string, repo events.Repository) string {
	sum := sha256.Sum256([]byte(org + "\x00" + repo.Source + "\x00" + string(repo.ID)))
	return hex.EncodeToString(sum[:])
}

// Get implements handlers.Repositories.
func (r kvRepositories) Get(ctx context.Context, org string, repo events.Repository) (handlers.MappedProject, bool, error) {
	e, err := r.kv.Get(ctx, repositoryKey(org, repo))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return handlers.MappedProject{}, false, nil
	}
	if err != nil {
		return handlers.MappedProject{}, false, err
	}
	var entry repositoryEntry
	if err := json.Unmarshal(e.Value(), &entry); err != nil || entry.ProjectToken == "" {
		// Not an entry of this worker's: as good as none, and the names
		// write a new one.
		return handlers.MappedProject{}, false, nil
	}
	return entry.MappedProject, true, nil
}

// Put implements handlers.Repositories.
func (r kvRepositories) Put(ctx context.Context, org string, repo events.Repository, p handlers.MappedProject) error {
	b, err := json.Marshal(repositoryEntry{OrgToken: org, Repository: repo, MappedProject: p})
	if err != nil {
		return err
	}
	_, err = r.kv.Put(ctx, repositoryKey(org, repo), b)
	return err
}

// Delete implements handlers.Repositories.
func (r kvRepositories) Delete(ctx context.Context, org string, repo events.Repository) error {
	return r.kv.Purge(ctx, repositoryKey(org, repo))
}
