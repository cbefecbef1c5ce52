package main

import (
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"testing"
)

// Every command in the table is in the package doc, in the README's command
// table, and has a script in testdata/script: docs and tests that cannot
// fall behind the code.
func TestDocsListEveryCommand(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Doc.Text()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commandTable() {
		if !regexp.MustCompile(`(?m)^\s+`+c.name+`\s`).MatchString(doc) && c.name != "demo" {
			t.Errorf("package doc does not list %s", c.name)
		}
		if !regexp.MustCompile("(?m)^\\| `" + c.name + "[ `]").Match(readme) {
			t.Errorf("README's command table has no row for %s", c.name)
		}
		if _, err := os.Stat("testdata/script/" + c.name + ".txtar"); err != nil {
			t.Errorf("no script for %s: %v", c.name, err)
		}
	}
}
