package main

import (
	"testing"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
)

func mustAdminOrg(t *testing.T, n *node.Node) string {
	t.Helper()
	os, err := n.Hub.Orgs("", 10)
	if err != nil || len(os) != 1 {
		t.Fatalf("orgs: %v %v", os, err)
	}
	return os[0].ID
}

func adminActor(t *testing.T, n *node.Node) hub.Actor {
	return hub.Actor{User: "usr_test", Org: mustAdminOrg(t, n), Role: orgs.Admin, Jurisdiction: "NL"}
}
