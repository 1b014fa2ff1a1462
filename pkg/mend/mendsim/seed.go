package mendsim

import (
	"fmt"
	"strings"
)

// seed builds the demo organization: the configured user, a product with two
// projects, their libraries, hierarchy and dependencies.
func (s *Simulator) seed() *state {
	st := newState()
	now := s.now()
	admin := &user{id: st.id(), uuid: newUUID(), name: "Demo Admin", email: strings.ToLower(s.cfg.UserEmail), userType: "REGULAR", accountStatus: "ACTIVE"}
	st.users[admin.email] = admin
	o := &org{seq: st.id(), token: s.cfg.OrgToken, uuid: newUUID(), name: s.cfg.OrgName, created: now, members: []string{admin.email}}
	st.orgs[o.token] = o
	for i, token := range s.cfg.ExtraOrgTokens {
		st.orgs[token] = &org{seq: st.id(), token: token, uuid: newUUID(), name: fmt.Sprintf("Organization %d", i+2), created: now, members: []string{admin.email}}
	}

	prod := st.addProduct(o, "demo-product", now)
	prod.tags.add("team", "platform")
	api := st.addProject(prod, "demo-api", now)
	api.tags.add("environment", "staging")
	api.plugin, api.pluginVer, api.uploadedBy = "unified agent", "24.1.1", admin.email
	api.lastProcess = "UPDATE_ALERTS"
	api.libraries = demoLibraries()
	web := st.addProject(prod, "demo-web", now)
	web.plugin, web.pluginVer, web.uploadedBy = "unified agent", "24.1.1", admin.email

	s.seedGroups(st, o)
	s.seedOrganization(st, o, api)
	return st
}

// demoLibraries is a small inventory after the pages' examples: log4j alone,
// akka-actor with two dependencies, and two In-House libraries,
// demo-common and billing-client.
func demoLibraries() []*library {
	apache := license{name: "Apache 2.0", url: "http://www.opensource.org/licenses/Apache-2.0"}
	return []*library{
		{
			keyUUID: "1f9ee6ec-eded-45d3-8fdb-2d0d735e5b14", keyID: 43, filename: "log4j-1.2.17.jar",
			name: "log4j", groupID: "log4j", artifactID: "log4j", version: "1.2.17",
			sha1: "5af35056b4d257e4b64b9e8069c0746e8b08629f", libType: "MAVEN_ARTIFACT",
			licenses: []license{apache}, scope: "COMPILE", extension: "jar",
			sourceFiles: []sourceFile{{sha1: "6bf3b8ddfecac64a916ba69de50e9faac70992ba", name: "Logger.java", path: "src/main/java/org/apache/log4j/Logger.java"}},
		},
		{
			keyUUID: "f362c53f-ce25-4d0c-b53b-ee2768b32d1a", keyID: 45, filename: "akka-actor_2.11-2.5.2.jar",
			name: "akka-actor", groupID: "com.typesafe.akka", artifactID: "akka-actor_2.11", version: "2.5.2",
			sha1: "183ccaed9002bfa10628a5df48e7bac6f1c03f7b", libType: "MAVEN_ARTIFACT",
			licenses: []license{apache}, scope: "COMPILE", extension: "jar",
			dependencies: []*library{
				{
					keyUUID: "49c6840d-bf96-470f-8892-6c2a536c91eb", keyID: 44, filename: "scala-library-2.11.11.jar",
					name: "Scala Library", groupID: "org.scala-lang", artifactID: "scala-library", version: "2.11.11",
					sha1: "e283d2b7fde6504f6a86458b1f6af465353907cc", libType: "MAVEN_ARTIFACT",
					licenses: []license{{name: "BSD 3", url: "http://www.opensource.org/licenses/BSD-3-Clause"}}, scope: "COMPILE", extension: "jar",
				},
				{
					keyUUID: "426c0056-f180-4cac-a9dd-c266a76b32c9", keyID: 47, filename: "config-1.3.1.jar",
					name: "config", groupID: "com.typesafe", artifactID: "config", version: "1.3.1",
					sha1: "2cf7a6cc79732e3bdf1647d7404279900ca63eb0", libType: "MAVEN_ARTIFACT",
					licenses: []license{apache}, scope: "COMPILE", extension: "jar",
				},
			},
		},
		{
			keyUUID: "8d3b5e1a-6c2f-4e7b-9a0d-3f1c2b4a5e6d", keyID: 51, filename: "demo-common-1.4.0.jar",
			name: "demo-common", groupID: "com.example", artifactID: "demo-common", version: "1.4.0",
			sha1: "9b1c3d5e7f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c", libType: "MAVEN_ARTIFACT",
			description: "Shared utilities of the demo services", scope: "COMPILE", extension: "jar", inHouse: true,
		},
		{
			keyUUID: "6d1a3c52-8f0e-4b7a-9c21-5e4f3a2b1c0d", keyID: 61, filename: "billing-client-2.1.0.jar",
			name: "billing-client", groupID: "com.example.billing", artifactID: "billing-client", version: "2.1.0",
			sha1: "3b9e1f7c2a5d8e0f4a6c1b3d5e7f9a0b2c4d6e8f", libType: "MAVEN_ARTIFACT",
			description: "Client of the billing service", scope: "COMPILE", extension: "jar", inHouse: true,
		},
	}
}

// Populate adds products projects-each to the organization the simulator
// started with, products named product-0001, product-0002… and their
// projects project-01, project-02…: a large organization in one step, for
// tests and benchmarks of how the calls of a client grow with it. It
// returns the tokens of the products added, in order.
func (s *Simulator) Populate(products, projectsEach int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.st.orgs[s.cfg.OrgToken]
	now := s.now()
	tokens := make([]string, 0, products)
	for i := range products {
		p := s.st.addProduct(o, fmt.Sprintf("product-%04d", i+1), now)
		for j := range projectsEach {
			s.st.addProject(p, fmt.Sprintf("project-%02d", j+1), now)
		}
		tokens = append(tokens, p.token)
	}
	return tokens
}

// OrgUUID returns the UUID of the organization the simulator started
// with, which the v2.0 login answers as orgUuid and the v3.0 access token
// takes.
func (s *Simulator) OrgUUID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.orgs[s.cfg.OrgToken].uuid
}

// AddOrganization adds an organization of which the configured user is a
// member, and returns its token and UUID.
func (s *Simulator) AddOrganization(name string) (token, uuid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &org{seq: s.st.id(), token: newUUID(), uuid: newUUID(), name: name, created: s.now(), members: []string{strings.ToLower(s.cfg.UserEmail)}}
	s.st.orgs[o.token] = o
	return o.token, o.uuid
}
