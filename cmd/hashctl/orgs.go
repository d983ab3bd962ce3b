package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/orgs"
)

func cmdOrgsCreate(e *env, args []string) error {
	fs := e.flags()
	name := fs.String("name", "", "organisation `NAME` (unique on the node)")
	kind := fs.String("kind", "", "`KIND`: admin, hotline, law_enforcement, platform, hosting_provider or peer")
	jur := fs.String("jurisdiction", "", "ISO 3166-1 alpha-2 `CODE`, e.g. NL")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.need("name", *name, "kind", *kind, "jurisdiction", *jur); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	o, err := c.CreateOrg(e.call(), client.CreateOrgRequest{Name: *name, Kind: orgs.Role(*kind), Jurisdiction: *jur})
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Created organisation %s\n", o.ID)
	printOrg(e, o)
	return nil
}

func printOrg(e *env, o *orgs.Org) {
	fields(e.stdout, "id", o.ID, "name", o.Name, "kind", string(o.Kind), "jurisdiction", o.Jurisdiction, "created", ts(o.Created))
}

func cmdOrgsList(e *env, args []string) error {
	return paged(e, args, nil, func(c *client.Client, cursor string, limit int) ([]orgs.Org, string, error) {
		p, err := c.Orgs(e.call(), cursor, limit)
		if err != nil {
			return nil, "", err
		}
		return p.Orgs, p.NextCursor, nil
	}, "no organisations", "hashctl orgs list", func(page []orgs.Org) {
		t := newTable(e.stdout, "ID", "NAME", "KIND", "JURISDICTION", "CREATED")
		for _, o := range page {
			t.row(o.ID, o.Name, string(o.Kind), o.Jurisdiction, ts(o.Created))
		}
		t.flush()
	})
}

func cmdOrgsShow(e *env, args []string) error {
	return show(e, args, 1, func(c *client.Client, pos []string) (*orgs.Org, error) { return c.Org(e.call(), pos[0]) },
		func(o *orgs.Org) { printOrg(e, o) })
}

func cmdUsersCreate(e *env, args []string) error {
	fs := e.flags()
	org := fs.String("org", "", "organisation `ID` or exact name")
	name := fs.String("name", "", "user's display `NAME`")
	out := fs.String("credentials-out", "", "write the new client id and secret to `FILE` (mode 0600, as --credentials reads it) instead of printing the secret")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.need("org", *org, "name", *name); err != nil {
		return err
	}
	if *out != "" {
		// Fail before creating the user, not after.
		if _, err := os.Stat(*out); err == nil {
			return e.usagef("--credentials-out %s: file exists; not overwriting it", *out)
		}
	}
	c, orgID, err := e.orgClient(*org)
	if err != nil {
		return err
	}
	u, err := c.CreateUser(e.call(), orgID, *name)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := writeCredentials(*out, u.ClientID, u.ClientSecret); err != nil {
			// The user exists but the secret is lost; say so plainly.
			return fmt.Errorf("user %s was created but its credentials could not be written: %w (create another user)", u.User.ID, err)
		}
	}
	if e.g.json.v {
		if *out != "" {
			// The secret went to the file; keep it off the terminal.
			var m map[string]json.RawMessage
			if err := json.Unmarshal(e.raw, &m); err == nil {
				delete(m, "client_secret")
				e.raw, _ = json.Marshal(m)
			}
		}
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Created user %s (%s) in organisation %s\n", u.User.ID, u.User.Name, u.User.Org)
	if *out != "" {
		fields(e.stdout, "client_id", u.ClientID, "client_secret", "written to "+*out)
		return nil
	}
	fields(e.stdout, "client_id", u.ClientID, "client_secret", u.ClientSecret)
	fmt.Fprintln(e.stdout, "The client secret is shown this once: the node keeps only its hash. Store it now (e.g. in a file for --credentials).")
	return nil
}

// writeCredentials writes a credentials file in the format of a node's
// admin.json, readable by its owner only, never replacing a file.
func writeCredentials(path, id, secret string) error {
	b, err := json.MarshalIndent(map[string]string{"client_id": id, "client_secret": secret}, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	return errors.Join(err, f.Close())
}

func cmdUsersList(e *env, args []string) error {
	fs := e.flags()
	org := fs.String("org", "", "organisation `ID` or exact name")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.need("org", *org); err != nil {
		return err
	}
	c, orgID, err := e.orgClient(*org)
	if err != nil {
		return err
	}
	us, err := c.Users(e.call(), orgID)
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	if len(us) == 0 {
		fmt.Fprintln(e.stdout, "no users")
		return nil
	}
	t := newTable(e.stdout, "ID", "NAME", "KIND", "CLIENT_ID", "CREATED")
	for _, u := range us {
		kind := "client"
		if u.Person {
			kind = "person"
		}
		if u.Disabled {
			kind += " (disabled)"
		}
		t.row(u.ID, u.Name, kind, u.ClientID, u.Created)
	}
	t.flush()
	return nil
}

// cmdUsersInvite invites a person to the console and prints the one-time
// link, to hand to them over a channel the admin trusts.
func cmdUsersInvite(e *env, args []string) error {
	fs := e.flags()
	org := fs.String("org", "", "organisation `ID` or exact name")
	name := fs.String("name", "", "the person's display and sign-in `NAME` (unique on the node)")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.need("org", *org, "name", *name); err != nil {
		return err
	}
	c, orgID, err := e.orgClient(*org)
	if err != nil {
		return err
	}
	inv, err := c.InviteUser(e.call(), orgID, *name)
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Invited %s (%s) to organisation %s\n", inv.User.Name, inv.User.ID, inv.User.Org)
	fields(e.stdout, "link", c.Server()+inv.Path, "expires", inv.Expires.UTC().Format(time.RFC3339))
	fmt.Fprintln(e.stdout, "The link works once and is shown this once: the node keeps only its hash. Give it to the person over a channel you trust.")
	return nil
}

// cmdUsersDisable disables a user.
func cmdUsersDisable(e *env, args []string) error {
	fs := e.flags()
	org := fs.String("org", "", "organisation `ID` or exact name")
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if err := e.need("org", *org); err != nil {
		return err
	}
	c, orgID, err := e.orgClient(*org)
	if err != nil {
		return err
	}
	if err := c.DisableUser(e.call(), orgID, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Disabled user %s: no more sign-ins or tokens; console sessions ended\n", pos[0])
	return nil
}

// orgClient is the client and the id of the organisation ref names, for
// the commands that act on one organisation.
func (e *env) orgClient(ref string) (*client.Client, string, error) {
	c, err := e.client()
	if err != nil {
		return nil, "", err
	}
	orgID, err := resolveOrg(e, c, ref)
	if err != nil {
		return nil, "", err
	}
	return c, orgID, nil
}

// resolveOrg turns an organisation reference into its id: an id
// ("org_…") is used as given; anything else is looked up as an exact
// organisation name, so operators can type names they know.
func resolveOrg(e *env, c *client.Client, ref string) (string, error) {
	if strings.HasPrefix(ref, "org_") {
		return ref, nil
	}
	cursor := ""
	for {
		p, err := c.Orgs(e.call(), cursor, 1000)
		if err != nil {
			return "", err
		}
		for _, o := range p.Orgs {
			if o.Name == ref {
				return o.ID, nil
			}
		}
		if p.NextCursor == "" {
			return "", e.usagef("no organisation named %q (hashctl orgs list shows them)", ref)
		}
		cursor = p.NextCursor
	}
}
