# in-memory store fakes
