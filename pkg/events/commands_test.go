package events

import (
	"errors"
	"testing"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	ref := ProjectRef{ProductName: "acme", ProjectName: "api"}
	tag := ProjectTag{ProjectRef: ref, TagKey: "environment", TagValue: "production"}
	cases := []struct {
		name    string
		data    CommandData
		wantErr string
	}{
		{name: "product.create", data: &ProductCreate{ProductName: "acme"}},
		{name: "product.create without name", data: &ProductCreate{}, wantErr: "product.create: productName is required"},
		{name: "project.create by product name", data: &ProjectCreate{ProductName: "acme", ProjectName: "api", CreateProduct: true}},
		{name: "project.create by product token", data: &ProjectCreate{ProductToken: "t", ProjectName: "api", Tags: map[string]string{"team": "payments"}}},
		{name: "project.create without project", data: &ProjectCreate{ProductName: "acme"}, wantErr: "project.create: projectName is required"},
		{name: "project.create without product", data: &ProjectCreate{ProjectName: "api"}, wantErr: "project.create: productToken or productName is required"},
		{name: "project.create createProduct by token", data: &ProjectCreate{ProductToken: "t", ProjectName: "api", CreateProduct: true}, wantErr: "project.create: createProduct needs productName"},
		{name: "project.create empty tag value", data: &ProjectCreate{ProductName: "acme", ProjectName: "api", Tags: map[string]string{"team": "payments", "environment": " "}}, wantErr: `project.create: tags: the value of tag "environment" is empty`},
		{name: "project.create empty tag key", data: &ProjectCreate{ProductName: "acme", ProjectName: "api", Tags: map[string]string{" ": "x"}}, wantErr: "project.create: tags: a tag key is empty"},
		{name: "project.delete by names", data: &ProjectDelete{ProjectRef: ref}},
		{name: "project.delete by token", data: &ProjectDelete{ProjectRef: ProjectRef{ProjectToken: "p"}}},
		{name: "project.delete by product token and name", data: &ProjectDelete{ProjectRef: ProjectRef{ProductToken: "t", ProjectName: "api"}}},
		{name: "project.delete without product", data: &ProjectDelete{ProjectRef: ProjectRef{ProjectName: "api"}}, wantErr: "project.delete: projectToken or productName+projectName is required"},
		{name: "project.tag.save", data: &ProjectTagSave{tag}},
		{name: "project.tag.save without key", data: &ProjectTagSave{ProjectTag{ProjectRef: ref, TagValue: "v"}}, wantErr: "project.tag.save: tagKey is required"},
		{name: "project.tag.remove without value", data: &ProjectTagRemove{ProjectTag{ProjectRef: ref, TagKey: "k"}}, wantErr: "project.tag.remove: tagValue is required"},
		{name: "project.tag.remove without project", data: &ProjectTagRemove{ProjectTag{TagKey: "k", TagValue: "v"}}, wantErr: "project.tag.remove: projectToken or productName+projectName is required"},
		{name: "project.reassign", data: &ProjectReassign{ProjectRef: ref, NewProductName: "other"}},
		{name: "project.reassign without target", data: &ProjectReassign{ProjectRef: ref}, wantErr: "project.reassign: newProductToken or newProductName is required"},
		{name: "project.reassign creating its product", data: &ProjectReassign{ProjectRef: ref, NewProductName: "other", CreateProduct: true}},
		{name: "project.reassign creating a product by token", data: &ProjectReassign{ProjectRef: ref, NewProductToken: "t", CreateProduct: true}, wantErr: "project.reassign: createProduct needs newProductName"},
		{name: "project.reassign and rename", data: &ProjectReassign{ProjectRef: ref, NewProductName: "other", NewProjectName: "web"}},
		{name: "project.reassign to a name with a newline", data: &ProjectReassign{ProjectRef: ref, NewProductName: "other", NewProjectName: "we\nb"}, wantErr: "project.reassign: newProjectName holds a control character (U+000A at byte 2)"},
		{name: "project.rename", data: &ProjectRename{ProjectRef: ref, NewProjectName: "web"}},
		{name: "project.rename by its repository", data: &ProjectRename{ProjectRef: ProjectRef{ProductName: "acme", ProjectName: "api", Repository: &Repository{Source: "https://github.com", ID: "42"}}, NewProjectName: "web"}},
		{name: "project.rename without new name", data: &ProjectRename{ProjectRef: ref, NewProjectName: " "}, wantErr: "project.rename: newProjectName is required"},
		{name: "project.rename repository without id", data: &ProjectRename{ProjectRef: ProjectRef{ProjectToken: "p", Repository: &Repository{Source: "https://github.com"}}, NewProjectName: "web"}, wantErr: "project.rename: repository.id is required"},
		{name: "project.rename to a name with a tab", data: &ProjectRename{ProjectRef: ref, NewProjectName: "a\tb"}, wantErr: "project.rename: newProjectName holds a control character (U+0009 at byte 1)"},
		{name: "product.rename", data: &ProductRename{ProductRef: ProductRef{ProductName: "acme"}, NewProductName: "acme-corp"}},
		{name: "product.rename without product", data: &ProductRename{NewProductName: "acme-corp"}, wantErr: "product.rename: productToken or productName is required"},
		{name: "product.rename without new name", data: &ProductRename{ProductRef: ProductRef{ProductToken: "t"}}, wantErr: "product.rename: newProductName is required"},
		{name: "product.rename to a name with a C1 control", data: &ProductRename{ProductRef: ProductRef{ProductToken: "t"}, NewProductName: "acme\u0085"}, wantErr: "product.rename: newProductName holds a control character (U+0085 at byte 4)"},
		{name: "product.create with DEL", data: &ProductCreate{ProductName: "acme\x7f"}, wantErr: "product.create: productName holds a control character (U+007F at byte 4)"},
		{name: "project.create with a control character in a tag key", data: &ProjectCreate{ProductName: "acme", ProjectName: "api", Tags: map[string]string{"te\x01am": "x"}}, wantErr: "project.create: tags: a tag key holds a control character (U+0001 at byte 2)"},
		{name: "product.tag.save with a control character in a value", data: &ProductTagSave{ProductTag{ProductRef: ProductRef{ProductName: "acme"}, TagKey: "k", TagValue: "\x1b[31m"}}, wantErr: "product.tag.save: tagValue holds a control character (U+001B at byte 0)"},
		{name: "policies.apply organization", data: &PoliciesApply{Scope: ScopeOrganization}},
		{name: "policies.apply project", data: &PoliciesApply{Scope: ScopeProject, Token: "p"}},
		{name: "policies.apply product without token", data: &PoliciesApply{Scope: ScopeProduct}, wantErr: "policies.apply: token or productName is required for scope product"},
		{name: "policies.apply product with a blank token", data: &PoliciesApply{Scope: ScopeProduct, Token: " "}, wantErr: "policies.apply: token or productName is required for scope product"},
		{name: "policies.apply product by name", data: &PoliciesApply{Scope: ScopeProduct, ProductName: "acme"}},
		{name: "policies.apply project by names", data: &PoliciesApply{Scope: ScopeProject, ProductName: "acme", ProjectName: "api"}},
		{name: "policies.apply project without its product", data: &PoliciesApply{Scope: ScopeProject, ProjectName: "api"}, wantErr: "policies.apply: token or productName+projectName is required for scope project"},
		{name: "policies.apply product named twice", data: &PoliciesApply{Scope: ScopeProduct, Token: "t", ProductName: "acme"}, wantErr: "policies.apply: token and productName/projectName name the scope twice: give one"},
		{name: "policies.apply organization with a name", data: &PoliciesApply{Scope: ScopeOrganization, ProductName: "acme"}, wantErr: "policies.apply: productName and projectName name a product or project scope only"},
		{name: "policies.apply without scope", data: &PoliciesApply{}, wantErr: "policies.apply: scope is required (organization|product|project)"},
		{name: "policies.apply bad scope", data: &PoliciesApply{Scope: "global", Token: "x"}, wantErr: `policies.apply: scope must be organization|product|project, not "global"`},
		{name: "request.track", data: &RequestTrack{RequestToken: "r"}},
		{name: "request.track without token", data: &RequestTrack{}, wantErr: "request.track: requestToken is required"},
		// Blank is missing, in every command alike (requireFields).
		{name: "product.create blank name", data: &ProductCreate{ProductName: " "}, wantErr: "product.create: productName is required"},
		{name: "project.create blank project", data: &ProjectCreate{ProductName: "acme", ProjectName: "\t"}, wantErr: "project.create: projectName is required"},
		{name: "project.create blank product", data: &ProjectCreate{ProductName: " ", ProjectName: "api"}, wantErr: "project.create: productToken or productName is required"},
		{name: "project.create createProduct blank name", data: &ProjectCreate{ProductToken: "t", ProductName: " ", ProjectName: "api", CreateProduct: true}, wantErr: "project.create: createProduct needs productName"},
		{name: "project.delete blank names", data: &ProjectDelete{ProjectRef: ProjectRef{ProductName: " ", ProjectName: "api"}}, wantErr: "project.delete: projectToken or productName+projectName is required"},
		{name: "project.tag.save blank key", data: &ProjectTagSave{ProjectTag{ProjectRef: ref, TagKey: " ", TagValue: "v"}}, wantErr: "project.tag.save: tagKey is required"},
		{name: "product.tag.save blank key", data: &ProductTagSave{ProductTag{ProductRef: ProductRef{ProductName: "acme"}, TagKey: " ", TagValue: "v"}}, wantErr: "product.tag.save: tagKey is required"},
		{name: "project.tag.remove blank value", data: &ProjectTagRemove{ProjectTag{ProjectRef: ref, TagKey: "k", TagValue: " "}}, wantErr: "project.tag.remove: tagValue is required"},
		{name: "project.reassign blank target", data: &ProjectReassign{ProjectRef: ref, NewProductName: " "}, wantErr: "project.reassign: newProductToken or newProductName is required"},
		{name: "product.delete blank name", data: &ProductDelete{ProductRef: ProductRef{ProductName: " "}}, wantErr: "product.delete: productToken or productName is required"},
		{name: "request.track blank token", data: &RequestTrack{RequestToken: " "}, wantErr: "request.track: requestToken is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.data.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("Validate() = %v, want %q", err, tc.wantErr)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("Validate() error %T is not a *ValidationError", err)
			}
		})
	}
}
