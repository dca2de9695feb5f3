"""The deploy controller: the quality gate, the registry's aliases, the background server and the strategies."""
