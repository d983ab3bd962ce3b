package main

import "fmt"

func cmdLogin(e *env, args []string) error {
	fs := e.flags()
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	// The first call fetches a token: this is the credentials check.
	me, err := c.Me(e.call())
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Logged in to %s\n", c.Server())
	fields(e.stdout, "user", me.User, "org", me.Org, "role", me.Role, "jurisdiction", me.Jurisdiction)
	return nil
}
