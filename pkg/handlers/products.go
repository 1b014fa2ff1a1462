package handlers

import (
	"context"
	"fmt"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// listProducts lists the products of an organization as names to tokens.
func (s *Set) listProducts(org string) listFunc {
	return func(ctx context.Context) (map[string]string, error) {
		resp, _, err := s.products.List(ctx, &mend.GetAllProductsRequest{OrgToken: org})
		if err != nil {
			return nil, err
		}
		names := make(map[string]string, len(resp.Products))
		for _, p := range resp.Products {
			names[p.ProductName] = p.ProductToken
		}
		return names, nil
	}
}

// productToken returns the token of the product named name in org, and
// whether it exists.
func (s *Set) productToken(ctx context.Context, org, name string) (string, bool, error) {
	return s.productNames.lookup(ctx, org, name, s.listProducts(org))
}

// ensureProduct returns the token of the product named name in org,
// creating the product unless it exists, and whether this call created it.
// A name conflict (2001) means another delivery or another worker created
// it first: it is there, which is all that was asked.
func (s *Set) ensureProduct(ctx context.Context, org, name string) (string, bool, error) {
	unlock, err := s.creatingProducts.lock(ctx, org+"\x00"+name)
	if err != nil {
		return "", false, err
	}
	defer unlock()
	if tok, ok, err := s.productToken(ctx, org, name); err != nil || ok {
		return tok, false, err
	}
	resp, _, err := s.products.Create(ctx, &mend.CreateProductRequest{OrgToken: org, ProductName: name})
	switch {
	case err == nil:
		s.productNames.put(org, name, resp.ProductToken)
		return resp.ProductToken, true, nil
	case mend.IsCode(err, mend.CodeProductNameTaken):
		tok, ok, err := s.productNames.relist(ctx, org, name, s.listProducts(org))
		if err == nil && !ok {
			// Taken yet not listed: it is being created or deleted right now.
			return "", false, notFound("product %q", name)
		}
		return tok, false, err
	default:
		return "", false, err
	}
}

// productName returns the name of the product of token in org, from the
// cached list while it is fresh, else from a new one; "" when the
// organization lists no such product.
func (s *Set) productName(ctx context.Context, org, token string) (string, error) {
	if name, ok := s.productNames.nameOf(org, token); ok {
		return name, nil
	}
	names, err := s.productNames.refresh(ctx, org, s.listProducts(org))
	if err != nil {
		return "", err
	}
	name, _ := nameOfToken(names, token)
	return name, nil
}

// resolveProduct returns the token of the product ref names, and whether
// it exists. A token is taken as given; Mend's answer to the request
// using it tells whether it exists.
func (s *Set) resolveProduct(ctx context.Context, org string, ref events.ProductRef) (string, bool, error) {
	if ref.ProductToken != "" {
		return ref.ProductToken, true, nil
	}
	return s.productToken(ctx, org, ref.ProductName)
}

// describeProduct names a product for messages.
func describeProduct(ref events.ProductRef) string {
	if ref.ProductToken != "" {
		return "product " + ref.ProductToken
	}
	return fmt.Sprintf("product %q", ref.ProductName)
}

func (s *Set) productCreate(ctx context.Context, _ *Delivery, d *events.ProductCreate) (Result, error) {
	org := s.org(d.OrgToken)
	tok, created, err := s.ensureProduct(ctx, org, d.ProductName)
	if err != nil {
		return Result{}, err
	}
	return resultOf(events.TypeProductCreated, events.ProductCreated{
		OrgToken: org, ProductName: d.ProductName, ProductToken: tok, Created: created,
	}), nil
}

// productDelete deletes a product. A product that is not there may be on
// its way (its create still queued), so the command waits for it; once the
// wait is over, a product that never appeared counts as deleted, with
// Deleted false. An unknown token (1003, or 5001 for one out of sight) is
// a product not there; but a product this command found by its name, and
// deleteProduct then did not find, is gone, and counts as deleted.
func (s *Set) productDelete(ctx context.Context, _ *Delivery, d *events.ProductDelete) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.ProductDeleted{OrgToken: org, ProductName: d.ProductName, ProductToken: d.ProductToken}
	absent := func() error {
		return absentOr(resultOf(events.TypeProductDeleted, res), "%s", describeProduct(d.ProductRef))
	}
	tok, ok, err := s.resolveProduct(ctx, org, d.ProductRef)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, absent()
	}
	_, _, err = s.products.Delete(ctx, &mend.DeleteProductRequest{OrgToken: org, ProductToken: tok})
	if mend.IsNotFound(err) {
		if d.ProductToken != "" {
			return Result{}, absent()
		}
		err = nil
	}
	if err != nil {
		return Result{}, err
	}
	s.productNames.forget(org, tok)
	s.projectNames.drop(tok)
	res.ProductToken, res.Deleted = tok, true
	return resultOf(events.TypeProductDeleted, res), nil
}

// productTags is the product side of changeTag.
func (s *Set) productTags(token string) tagged {
	return tagged{
		get: func(ctx context.Context) (mend.Tags, error) {
			resp, _, err := s.products.GetTags(ctx, &mend.GetProductTagsRequest{ProductToken: token})
			if err != nil {
				return nil, err
			}
			return firstTags(resp.ProductTags), nil
		},
		save: func(ctx context.Context, key, value string) error {
			_, _, err := s.products.SaveTag(ctx, &mend.ProductTagRequest{ProductToken: token, TagKey: key, TagValue: value})
			return err
		},
		remove: func(ctx context.Context, key, value string) error {
			_, _, err := s.products.RemoveTag(ctx, &mend.ProductTagRequest{ProductToken: token, TagKey: key, TagValue: value})
			return err
		},
	}
}

func (s *Set) productTagSave(ctx context.Context, _ *Delivery, d *events.ProductTagSave) (Result, error) {
	return s.productTag(ctx, &d.ProductTag, saveTag)
}

func (s *Set) productTagRemove(ctx context.Context, _ *Delivery, d *events.ProductTagRemove) (Result, error) {
	return s.productTag(ctx, &d.ProductTag, removeTag)
}

func (s *Set) productTag(ctx context.Context, d *events.ProductTag, op tagOp) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.ProductTagChanged{OrgToken: org, ProductName: d.ProductName, ProductToken: d.ProductToken, TagKey: d.TagKey, TagValue: d.TagValue}
	typ := op.pick(events.TypeProductTagged, events.TypeProductUntagged)
	missing := op.missing(resultOf(typ, res), describeProduct(d.ProductRef))
	tok, ok, err := s.resolveProduct(ctx, org, d.ProductRef)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, missing
	}
	res.ProductToken = tok
	res.Changed, err = changeTag(ctx, s.productTags(tok), op, d.TagKey, d.TagValue)
	if mend.IsNotFound(err) {
		return Result{}, missing
	}
	if err != nil {
		return Result{}, err
	}
	return resultOf(typ, res), nil
}

// productRename gives a product a new name, unless it has it already. A
// product its name no longer finds, but its new name does, was renamed
// before; one named by its token is asked what it is called now. A name
// another product of the organization has is refused before Mend is
// asked.
func (s *Set) productRename(ctx context.Context, _ *Delivery, d *events.ProductRename) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.ProductRenamed{OrgToken: org, ProductToken: d.ProductToken, ProductName: d.NewProductName}
	tok, ok, err := s.resolveProduct(ctx, org, d.ProductRef)
	if err != nil {
		return Result{}, err
	}
	current := d.ProductName
	switch {
	case d.ProductToken != "":
		e, _, err := s.products.Get(ctx, org, tok)
		if mend.IsNotFound(err) {
			return Result{}, notFound("%s", describeProduct(d.ProductRef))
		}
		if err != nil {
			return Result{}, err
		}
		current = e.Name
	case !ok:
		if tok, ok, err = s.productToken(ctx, org, d.NewProductName); err != nil {
			return Result{}, err
		}
		if !ok {
			return Result{}, notFound("%s", describeProduct(d.ProductRef))
		}
		current = d.NewProductName // renamed before
	}
	res.ProductToken = tok
	if current != d.NewProductName {
		other, taken, err := s.productToken(ctx, org, d.NewProductName)
		if err == nil && taken && other != tok {
			// A cached list may be out of date: only a fresh one refuses.
			other, taken, err = s.productNames.relist(ctx, org, d.NewProductName, s.listProducts(org))
		}
		if err != nil {
			return Result{}, err
		}
		if taken && other != tok {
			return Result{}, &NameTakenError{Kind: "product", Token: tok, Name: d.NewProductName, In: "organization " + org, By: other}
		}
		if !taken {
			_, _, err := s.products.Rename(ctx, org, tok, d.NewProductName)
			if mend.IsNotFound(err) {
				return Result{}, notFound("%s", describeProduct(d.ProductRef))
			}
			if err != nil {
				return Result{}, err
			}
			s.productNames.forget(org, tok)
			s.productNames.put(org, d.NewProductName, tok)
			res.OldProductName, res.Changed = current, true
		}
	}
	return resultOf(events.TypeProductRenamed, res), nil
}
