"""One module per endpoint; each handler reads the Provider from `request.app.state`."""
