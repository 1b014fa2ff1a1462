package routing

import (
	"strconv"

	jsoniter "github.com/json-iterator/go"
)

// pathTree holds the data paths a router's rules read. Decoding an event's
// data, ingest's hottest step, reads only those values and skips the rest
// without allocating: a GitHub payload is kilobytes, the rules read a few
// fields of it. jsoniter is already in the build (the CloudEvents SDK parses
// events with it) and skips values far faster than encoding/json decodes
// them.
type pathTree struct {
	whole    bool // a rule reads the value itself: decode all of it
	children map[string]*pathTree
}

func (t *pathTree) add(path []string) {
	for _, key := range path {
		if t.children == nil {
			t.children = make(map[string]*pathTree)
		}
		child, ok := t.children[key]
		if !ok {
			child = &pathTree{}
			t.children[key] = child
		}
		t = child
	}
	t.whole = true
}

var sparseJSON = jsoniter.Config{UseNumber: true}.Froze() // numbers as json.Number, as encoding/json with UseNumber

// decode returns data as encoding/json would decode it into an any, but
// with only the values at the tree's paths; every other key is left out
// and every other array element is nil. The caller has checked that data
// is valid JSON.
func (t *pathTree) decode(data []byte) (any, error) {
	iter := sparseJSON.BorrowIterator(data)
	defer sparseJSON.ReturnIterator(iter)
	v := t.read(iter)
	if iter.Error != nil {
		return nil, iter.Error
	}
	return v, nil
}

func (t *pathTree) read(iter *jsoniter.Iterator) any {
	if t.whole {
		return iter.Read()
	}
	switch iter.WhatIsNext() {
	case jsoniter.ObjectValue:
		obj := make(map[string]any, len(t.children))
		iter.ReadMapCB(func(iter *jsoniter.Iterator, key string) bool {
			if child, ok := t.children[key]; ok {
				obj[key] = child.read(iter)
			} else {
				iter.Skip()
			}
			return iter.Error == nil
		})
		return obj
	case jsoniter.ArrayValue:
		var arr []any
		iter.ReadArrayCB(func(iter *jsoniter.Iterator) bool {
			var v any
			if child, ok := t.children[strconv.Itoa(len(arr))]; ok {
				v = child.read(iter)
			} else {
				iter.Skip()
			}
			arr = append(arr, v)
			return iter.Error == nil
		})
		return arr
	default:
		iter.Skip()
		return nil
	}
}
