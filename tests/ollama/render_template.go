// Renders an Ollama TEMPLATE the way Ollama's server does for a chat request, for the Modelfile
// tests (tests/core/test_gguf_writer.cpp): Go's text/template over {System, Messages}, where
// Messages are the request's messages with consecutive same-role ones merged ("\n\n"), system
// messages kept in place, and System all system contents joined by "\n\n" (ollama/template
// collate, as read in Ollama's source). Only the standard library, so `go run` works offline.
// Usage: go run render_template.go < {"template": "...", "messages": [{"role","content"}]}
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"
)

type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type Job struct {
	Template string    `json:"template"`
	Messages []Message `json:"messages"`
}

func main() {
	var job Job
	if err := json.NewDecoder(os.Stdin).Decode(&job); err != nil {
		fmt.Fprintln(os.Stderr, "render_template: bad job:", err)
		os.Exit(2)
	}
	var systems []string
	var merged []*Message
	for i := range job.Messages {
		m := job.Messages[i]
		if m.Role == "system" {
			systems = append(systems, m.Content)
		}
		if n := len(merged); n > 0 && merged[n-1].Role == m.Role {
			merged[n-1].Content += "\n\n" + m.Content
		} else {
			merged = append(merged, &m)
		}
	}
	t, err := template.New("").Parse(job.Template)
	if err != nil {
		fmt.Fprintln(os.Stderr, "render_template: template does not parse:", err)
		os.Exit(3)
	}
	var out strings.Builder
	if err := t.Execute(&out, map[string]any{"System": strings.Join(systems, "\n\n"), "Messages": merged}); err != nil {
		fmt.Fprintln(os.Stderr, "render_template: template does not execute:", err)
		os.Exit(4)
	}
	os.Stdout.WriteString(out.String())
}
