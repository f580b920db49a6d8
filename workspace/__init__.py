"""The CIB team's workspace: server-rendered pages under /team/ on the service's HTTP
server, for seeing everything that arrived and acting on what needs a person."""
