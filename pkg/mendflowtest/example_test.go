package mendflowtest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mendflowtest"
)

// Another team's test: its tool creates a repository on GitHub, and GitHub
// tells mendflow. The pipeline runs in containers; the test sends the
// signed delivery, waits for the project.created result event and reads
// what Mend (the simulator) holds. In a test, use
// testcontainers.CleanupContainer(t, c) and t.Fatal instead.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	c, err := mendflowtest.Run(ctx, "", mendflowtest.WithPipeline())
	defer func() {
		if err := testcontainers.TerminateContainer(c); err != nil {
			log.Printf("removing the containers: %v", err)
		}
	}()
	if err != nil {
		log.Printf("starting mendflow: %v", err)
		return
	}

	// GitHub's delivery of a repository created, signed with the webhook
	// secret ingest was given.
	const delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
	payload := []byte(`{"action": "created", "repository": {"id": 1296269, "name": "checkout",
		"full_name": "acme/checkout", "html_url": "https://github.com/acme/checkout",
		"owner": {"login": "acme"}}}`)
	req, err := c.GitHubDeliveryRequest(ctx, "repository", delivery, payload)
	if err != nil {
		log.Printf("building the delivery: %v", err)
		return
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		log.Printf("sending the delivery: %v", err)
		return
	}
	resp.Body.Close()
	fmt.Println("ingest answered", resp.Status)
	if resp.StatusCode != http.StatusAccepted {
		return
	}

	// The delivery id is the correlationid of the chain's result events.
	e, err := c.WaitForEvent(ctx, delivery, events.TypeProjectCreated)
	if err != nil {
		log.Print(err)
		return
	}
	var created events.ProjectCreated
	if err := e.DataAs(&created); err != nil {
		log.Print(err)
		return
	}
	fmt.Printf("%s: %s/%s, created %v\n", e.Type(), created.ProductName, created.ProjectName, created.Created)

	// What Mend holds now.
	state, err := c.Snapshot(ctx)
	if err != nil {
		log.Print(err)
		return
	}
	for _, org := range state.Organizations {
		for _, product := range org.Products {
			for _, project := range product.Projects {
				if project.Token == created.ProjectToken {
					fmt.Printf("in Mend: project %s in product %s of %s\n", project.Name, product.Name, org.Name)
				}
			}
		}
	}

	// Output:
	// ingest answered 202 Accepted
	// io.mendflow.project.created: acme/checkout, created true
	// in Mend: project checkout in product acme of Demo Organization
}
