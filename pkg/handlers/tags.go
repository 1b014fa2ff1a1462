package handlers

import (
	"context"

	"github.com/mendflow/mendflow/pkg/mend"
)

// tagOp is what a tag command does to one value of a tag key.
type tagOp int

const (
	saveTag tagOp = iota
	removeTag
)

// pick chooses between what a save and a removal use.
func (op tagOp) pick(save, remove string) string {
	if op == removeTag {
		return remove
	}
	return save
}

// missing is the error for a product or project that is not there (yet):
// a save waits for it and then fails; a removal waits and then succeeds
// with nothing changed, res.
func (op tagOp) missing(res Result, what string) error {
	if op == removeTag {
		return absentOr(res, "%s", what)
	}
	return notFound("%s", what)
}

// tagged is a product or project whose tags can be read and changed.
type tagged struct {
	get          func(ctx context.Context) (mend.Tags, error)
	save, remove func(ctx context.Context, key, value string) error
	// known, when set, are its tags as this command just read them, with
	// others: get then needs no call.
	known *mend.Tags
}

// changeTag saves or removes one value of a tag key, unless the tags
// already are as asked: a redelivered command then changes nothing. It
// reports whether it changed the tags.
func changeTag(ctx context.Context, t tagged, op tagOp, key, value string) (bool, error) {
	var tags mend.Tags
	var err error
	if t.known != nil {
		tags = *t.known
	} else if tags, err = t.get(ctx); err != nil {
		return false, err
	}
	has := tags.Has(key, value)
	switch {
	case op == saveTag && !has:
		err = t.save(ctx, key, value)
	case op == removeTag && has:
		err = t.remove(ctx, key, value)
	default:
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// firstTags are the tags of the one product or project that a getTags
// answer lists.
func firstTags(infos []mend.TagsInfo) mend.Tags {
	if len(infos) == 0 {
		return nil
	}
	return infos[0].Tags
}
