"""One module per app's message database; registered in `fellwatch.chats.registry`."""
