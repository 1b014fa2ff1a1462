package mendsim

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// state is everything the simulator knows. The Simulator's mutex guards it;
// handlers run with that mutex held.
type state struct {
	nextID int

	globalOrgs map[string]*globalOrg // by token
	orgs       map[string]*org       // by token
	products   map[string]*product   // by token
	projects   map[string]*project   // by token
	users      map[string]*user      // by e-mail

	processes map[string]*process       // async processes by uuid
	requests  map[string]*pluginRequest // plugin requests by request token
	refresh   map[string]string         // v3.0 refresh tokens: token to e-mail
	lastOrg   map[string]string         // e-mail to the token of the organization last signed in to
	outcomes  map[string]string         // final process status by scope token, when not SUCCESS
}

type globalOrg struct {
	token    string
	name     string
	orgs     []string // tokens of the organizations assigned to it
	policies []*policy
}

type org struct {
	seq       int // creation order, which a frozen clock cannot give
	token     string
	uuid      string
	name      string
	created   time.Time
	globalOrg string   // token, or empty
	products  []string // product tokens, in creation order
	policies  []*policy
	inHouse   []*inHouseLibrary
	tasks     []*pendingTask
	groups    []*group // in creation order
	members   []string // e-mails of the users of the organization

	setupNotification setupNotificationConfig
}

type product struct {
	id       int
	token    string
	name     string
	org      string // organization token
	created  time.Time
	updated  time.Time
	tags     tagSet
	projects []string // project tokens, in creation order
	policies []*policy
}

type project struct {
	id          int
	token       string
	name        string
	product     string // product token
	created     time.Time
	updated     time.Time
	tags        tagSet
	policies    []*policy
	libraries   []*library // top-level libraries; dependencies hang below them
	lastProcess string     // projectState.lastProcess
	plugin      string     // vitals pluginName
	pluginVer   string
	uploadedBy  string
}

// tagSet keeps several values per key, in the order they were saved.
type tagSet map[string][]string

func (t tagSet) add(key, value string) bool {
	for _, v := range t[key] {
		if v == value {
			return false
		}
	}
	t[key] = append(t[key], value)
	return true
}

func (t tagSet) remove(key, value string) bool {
	vs := t[key]
	for i, v := range vs {
		if v == value {
			vs = append(vs[:i:i], vs[i+1:]...)
			if len(vs) == 0 {
				delete(t, key)
			} else {
				t[key] = vs
			}
			return true
		}
	}
	return false
}

func (t tagSet) clone() map[string][]string {
	out := make(map[string][]string, len(t))
	for k, vs := range t {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

type library struct {
	keyUUID      string
	keyID        int
	filename     string
	name         string
	groupID      string
	artifactID   string
	version      string
	sha1         string
	libType      string
	description  string
	licenses     []license
	sourceFiles  []sourceFile
	dependencies []*library
	scope        string
	extension    string
	inHouse      bool
}

type license struct {
	name string
	url  string
}

type sourceFile struct {
	sha1 string
	name string
	path string
}

type inHouseLibrary struct {
	lib       *library
	project   string // project token
	matchType string // "manual" or "automatic"
	comment   string
	pattern   string
}

type pendingTask struct {
	uuid          string
	project       string // project token
	artifact      string
	sha1          string
	created       time.Time
	approverEmail string
}

type setupNotificationConfig struct {
	action     string
	keyRegex   string
	valueRegex string
}

type policy struct {
	id       int
	name     string
	owner    *user
	created  time.Time
	priority int
	// filter, action and the other policy fields are kept as the client
	// sent them and answered back as they were.
	filter    []byte
	action    []byte
	inclusive bool
	enabled   bool
	context   string // policyContext: GLOBAL_ACCOUNT, DOMAIN, PRODUCT, PROJECT
}

type user struct {
	id            int
	uuid          string
	name          string
	email         string
	userType      string
	accountStatus string
}

type group struct {
	uuid        string
	name        string
	description string
	users       []string // e-mails
	roles       []groupRole
}

type groupRole struct {
	contextToken string
	contextType  string
	role         string
}

// process is an asynchronous process, such as applying policies.
type process struct {
	uuid        string
	contextUUID string
	contextType string
	org         string
	created     time.Time
	processType string
	outcome     string // final status: SUCCESS, FAILED or FAILURE
	polls       int
	userEmail   string
	requestTok  string
	progress    asyncProgress
}

// pluginRequest is a scan's update request, followed by getRequestState.
type pluginRequest struct {
	org      string
	created  time.Time
	outcome  string // final state: FINISHED, FAILED or SKIPPED
	polls    int
	progress asyncProgress
}

func newState() *state {
	return &state{
		nextID:     1000,
		globalOrgs: make(map[string]*globalOrg),
		orgs:       make(map[string]*org),
		products:   make(map[string]*product),
		projects:   make(map[string]*project),
		users:      make(map[string]*user),
		processes:  make(map[string]*process),
		requests:   make(map[string]*pluginRequest),
		refresh:    make(map[string]string),
		lastOrg:    make(map[string]string),
		outcomes:   make(map[string]string),
	}
}

func (st *state) id() int {
	st.nextID++
	return st.nextID
}

// newToken returns a 64-character token like Mend's product and project
// tokens.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
