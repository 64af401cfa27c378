package resolver

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// defaultNamespace is Backstage's namespace for entities that name none.
const defaultNamespace = "default"

// wireEntity is the part of a catalog entity the resolvers read.
type wireEntity struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		MemberOf []any `json:"memberOf"`
	} `json:"spec"`
	Relations []wireRelation `json:"relations"`
}

// wireRelation is one entry of an entity's relations.
type wireRelation struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
}

// catalogUser is a User entity reduced to what a Result carries.
type catalogUser struct {
	name   string
	ref    string
	groups []string
}

// result returns the user as a Result; the groups are copied, so that a
// caller cannot change a cached answer.
func (u *catalogUser) result() Result {
	return Result{UserName: u.name, EntityRef: u.ref, Groups: slices.Clone(u.groups)}
}

// user checks that e is a User entity and reduces it.
func (e *wireEntity) user(withGroups bool) (*catalogUser, error) {
	if e.Kind != "" && !strings.EqualFold(e.Kind, "user") {
		return nil, fmt.Errorf("asked for a User entity, got kind %q", e.Kind)
	}
	if e.Metadata.Name == "" {
		return nil, errors.New("entity without metadata.name")
	}
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = defaultNamespace
	}
	u := &catalogUser{name: e.Metadata.Name, ref: canonicalRef("user", ns, e.Metadata.Name)}
	if withGroups {
		u.groups = e.memberships(ns)
	}
	return u, nil
}

// memberships returns the groups the entity is a member of, from its memberOf
// relations and its spec.memberOf, in canonical form, deduplicated and sorted.
// spec.memberOf entries that leave out the kind or namespace default to Group
// and to the user's own namespace, as the catalog does when it derives the
// relations.
func (e *wireEntity) memberships(namespace string) []string {
	seen := map[string]struct{}{}
	add := func(ref string) {
		kind, ns, name, ok := parseRef(ref, "group", namespace)
		if ok && strings.EqualFold(kind, "group") {
			seen[canonicalRef(kind, ns, name)] = struct{}{}
		}
	}
	for _, rel := range e.Relations {
		if rel.Type == "memberOf" && rel.TargetRef != "" {
			add(rel.TargetRef)
		}
	}
	for _, m := range e.Spec.MemberOf {
		if s, ok := m.(string); ok {
			add(s)
		}
	}
	if len(seen) == 0 {
		return nil
	}
	groups := make([]string, 0, len(seen))
	for g := range seen {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	return groups
}

// parseRef splits an entity ref of the form [<kind>:][<namespace>/]<name>,
// filling in the defaults for the parts left out.
func parseRef(ref, defaultKind, defaultNS string) (kind, namespace, name string, ok bool) {
	kind, namespace, rest := defaultKind, defaultNS, ref
	colon := strings.IndexByte(ref, ':')
	slash := strings.IndexByte(ref, '/')
	if colon >= 0 && (slash < 0 || colon < slash) {
		kind, rest = ref[:colon], ref[colon+1:]
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		namespace, rest = rest[:i], rest[i+1:]
	}
	name = rest
	if kind == "" || namespace == "" || name == "" || strings.ContainsAny(name, ":/") {
		return "", "", "", false
	}
	return kind, namespace, name, true
}

// canonicalRef writes an entity ref in Backstage's canonical form:
// <kind>:<namespace>/<name>, all lower case.
func canonicalRef(kind, namespace, name string) string {
	return strings.ToLower(kind) + ":" + strings.ToLower(namespace) + "/" + strings.ToLower(name)
}
