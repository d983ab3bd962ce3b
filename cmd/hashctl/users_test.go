package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/client"
)

// TestUsersInviteAndDisable: an admin invites a person to the console; the
// printed link opens the invite page once the link is followed; the person
// is listed as a person; disabling them shows in the list.
func TestUsersInviteAndDisable(t *testing.T) {
	n := startNode(t, "NL")
	r := ok(t, n.as(n.admin, "orgs", "create", "--name", "Meldpunt", "--kind", "hotline", "--jurisdiction", "NL"))
	org := field(t, r.stdout, "id")

	r = ok(t, n.as(n.admin, "users", "invite", "--org", "Meldpunt", "--name", "Ann Analyst"))
	contains(t, r.stdout, "Invited Ann Analyst", "link:", "expires:", "works once")
	link := field(t, r.stdout, "link")
	if !strings.HasPrefix(link, n.url+"/console/invite/") {
		t.Fatalf("link %q is not this node's invite page", link)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Ann Analyst") {
		t.Fatalf("invite page: %d\n%s", resp.StatusCode, page)
	}

	// Sign-in names are unique on the node, in any case.
	fails(t, n.as(n.admin, "users", "invite", "--org", org, "--name", "ann analyst"), 1, "already exists")
	fails(t, n.as(n.admin, "users", "invite", "--org", org), 2, "--name")

	inv := decode[client.Invite](t, ok(t, n.as(n.admin, "users", "invite", "--org", org, "--name", "Bob", "--json")))
	if !inv.User.Person || inv.Path == "" || inv.Expires.IsZero() {
		t.Fatalf("invite --json: %+v", inv)
	}

	r = ok(t, n.as(n.admin, "users", "list", "--org", org))
	contains(t, r.stdout, "Ann Analyst", "person")

	r = ok(t, n.as(n.admin, "users", "disable", "--org", org, inv.User.ID))
	contains(t, r.stdout, "Disabled user "+inv.User.ID)
	r = ok(t, n.as(n.admin, "users", "list", "--org", org))
	contains(t, r.stdout, "person (disabled)")
	fails(t, n.as(n.admin, "users", "disable", "--org", org, "usr_nosuch"), 1, "not found")
}
