package mendsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// adminRoutes serves the simulator's own endpoints, which tests and demos
// use from outside the process. They are not recorded as calls.
//
//	GET    /_mendsim/calls[?op=createProject&since=SEQ]  the call record
//	DELETE /_mendsim/calls                               forget it
//	GET    /_mendsim/faults                              faults in force
//	POST   /_mendsim/faults                              add a Fault, or an array of them
//	DELETE /_mendsim/faults                              remove them all
//	POST   /_mendsim/requests                            register a plugin request (PluginRequest)
//	POST   /_mendsim/outcomes                            set how processes on a scope end (ProcessOutcome)
//	GET    /_mendsim/state                               organizations, products, projects and tags
//	POST   /_mendsim/reset                               back to the demo organization
func (s *Simulator) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_mendsim/calls", func(w http.ResponseWriter, r *http.Request) {
		since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
		writeAdmin(w, http.StatusOK, s.calls.since(since, r.URL.Query().Get("op")))
	})
	mux.HandleFunc("DELETE /_mendsim/calls", func(w http.ResponseWriter, r *http.Request) {
		s.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_mendsim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeAdmin(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /_mendsim/faults", func(w http.ResponseWriter, r *http.Request) {
		faults, err := readFaults(r)
		if err == nil {
			for _, f := range faults {
				if err = f.validate(); err != nil {
					break
				}
			}
		}
		if err != nil {
			writeAdminError(w, http.StatusBadRequest, err)
			return
		}
		for _, f := range faults {
			_ = s.SetFault(f)
		}
		writeAdmin(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("DELETE /_mendsim/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_mendsim/requests", func(w http.ResponseWriter, r *http.Request) {
		var in PluginRequest
		if err := readAdmin(r, &in); err != nil {
			writeAdminError(w, http.StatusBadRequest, err)
			return
		}
		tok, err := s.RegisterRequest(in)
		if err != nil {
			writeAdminError(w, http.StatusBadRequest, err)
			return
		}
		writeAdmin(w, http.StatusCreated, map[string]string{"requestToken": tok})
	})
	mux.HandleFunc("POST /_mendsim/outcomes", func(w http.ResponseWriter, r *http.Request) {
		var in ProcessOutcome
		if err := readAdmin(r, &in); err != nil {
			writeAdminError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetProcessOutcome(in); err != nil {
			writeAdminError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_mendsim/state", func(w http.ResponseWriter, r *http.Request) {
		writeAdmin(w, http.StatusOK, s.Snapshot())
	})
	mux.HandleFunc("POST /_mendsim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
}

func readAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.New("invalid JSON body: " + err.Error())
	}
	return nil
}

// readFaults accepts one fault object or an array of them.
func readFaults(r *http.Request) ([]Fault, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var many []Fault
	if err := json.Unmarshal(body, &many); err == nil {
		return many, nil
	}
	var one Fault
	if err := json.Unmarshal(body, &one); err != nil {
		return nil, errors.New("invalid fault: " + err.Error())
	}
	return []Fault{one}, nil
}

func writeAdmin(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeAdminError(w http.ResponseWriter, status int, err error) {
	writeAdmin(w, status, map[string]string{"error": err.Error()})
}

// Snapshot is what the simulator holds, as GET /_mendsim/state shows it.
type Snapshot struct {
	Organizations []OrgSnapshot `json:"organizations"`
}

// OrgSnapshot is one organization in a Snapshot.
type OrgSnapshot struct {
	Token    string            `json:"token"`
	Name     string            `json:"name"`
	Products []ProductSnapshot `json:"products"`
}

// ProductSnapshot is one product in a Snapshot.
type ProductSnapshot struct {
	Token    string              `json:"token"`
	Name     string              `json:"name"`
	Tags     map[string][]string `json:"tags"`
	Projects []ProjectSnapshot   `json:"projects"`
}

// ProjectSnapshot is one project in a Snapshot.
type ProjectSnapshot struct {
	Token string              `json:"token"`
	Name  string              `json:"name"`
	Tags  map[string][]string `json:"tags"`
}

// Snapshot returns the organizations, products, projects and tags.
func (s *Simulator) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := Snapshot{Organizations: []OrgSnapshot{}}
	for _, o := range s.sortedOrgs() {
		os := OrgSnapshot{Token: o.token, Name: o.name, Products: []ProductSnapshot{}}
		for _, pt := range o.products {
			p := s.st.products[pt]
			ps := ProductSnapshot{Token: p.token, Name: p.name, Tags: p.tags.clone(), Projects: []ProjectSnapshot{}}
			for _, jt := range p.projects {
				j := s.st.projects[jt]
				ps.Projects = append(ps.Projects, ProjectSnapshot{Token: j.token, Name: j.name, Tags: j.tags.clone()})
			}
			os.Products = append(os.Products, ps)
		}
		snap.Organizations = append(snap.Organizations, os)
	}
	return snap
}
