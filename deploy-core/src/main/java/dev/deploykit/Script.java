package dev.deploykit;


/** A named command within a {@link ScriptSet}. */
public record Script(String name, Command command) {
    public Script {
        Checks.id("script name", name);
        Checks.notNull("command of script " + name, command);
    }

    public static Script of(String name, Command command) {
        return new Script(name, command);
    }
}
