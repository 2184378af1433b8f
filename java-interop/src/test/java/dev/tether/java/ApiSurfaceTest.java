package dev.tether.java;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * No Kotlin-only type in any public signature of dev.tether.java: no suspend function (Continuation), no
 * kotlin.time.Duration (whose getters show up name-mangled with a '-'), no kotlin.jvm.functions.*, no kotlin.Unit,
 * no kotlin.Result; in fact no kotlin.* or kotlinx.* type at all. Every public and protected member counts, names
 * with '$' included: Kotlin-internal members are hidden from Java (synthetic), so none may show up here. Only the
 * dev.tether.java.internal package is skipped.
 */
class ApiSurfaceTest {

    private static List<Class<?>> apiClasses() throws Exception {
        File dir = new File(TetherClient.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        File pkg = new File(dir, "dev/tether/java");
        List<Class<?>> out = new ArrayList<>();
        for (File f : pkg.listFiles()) {
            String name = f.getName();
            if (!name.endsWith(".class")) continue;
            Class<?> c = Class.forName("dev.tether.java." + name.substring(0, name.length() - 6));
            if (c.isSynthetic() || c.isAnonymousClass() || !Modifier.isPublic(c.getModifiers())) continue;
            if (c.getSimpleName().isEmpty()) continue; // lambdas and local classes
            out.add(c);
        }
        return out;
    }

    private static void check(Type t, String where, List<String> problems) {
        if (t instanceof Class<?> c) {
            if (c.isArray()) { check(c.getComponentType(), where, problems); return; }
            String n = c.getName();
            if (n.startsWith("kotlin.") || n.startsWith("kotlinx.")) problems.add(where + " uses " + n);
        } else if (t instanceof ParameterizedType p) {
            check(p.getRawType(), where, problems);
            for (Type a : p.getActualTypeArguments()) check(a, where, problems);
        } else if (t instanceof WildcardType w) {
            for (Type b : w.getUpperBounds()) check(b, where, problems);
            for (Type b : w.getLowerBounds()) check(b, where, problems);
        } else if (t instanceof GenericArrayType g) {
            check(g.getGenericComponentType(), where, problems);
        } else if (t instanceof TypeVariable<?> v) {
            for (Type b : v.getBounds()) check(b, where, problems);
        }
    }

    @Test
    void publicSignaturesHaveNoKotlinOnlyTypes() throws Exception {
        List<Class<?>> classes = apiClasses();
        assertTrue(classes.size() >= 15, "expected the facade's classes, found " + classes);
        List<String> problems = new ArrayList<>();
        int members = 0;
        for (Class<?> c : classes) {
            for (Method m : c.getDeclaredMethods()) {
                if (!(Modifier.isPublic(m.getModifiers()) || Modifier.isProtected(m.getModifiers())) || m.isSynthetic() || m.isBridge()) continue;
                // Kotlin generates getEntries() on every enum; Java callers use values(), which it cannot remove
                if (c.isEnum() && m.getName().equals("getEntries")) continue;
                String where = c.getName() + "." + m.getName();
                if (m.getName().contains("-")) problems.add(where + " has a mangled name (a Kotlin value class)");
                if (m.getName().contains("$")) problems.add(where + " is Kotlin-internal but reachable from Java");
                check(m.getGenericReturnType(), where, problems);
                for (Type p : m.getGenericParameterTypes()) check(p, where, problems);
                members++;
            }
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                if (!(Modifier.isPublic(k.getModifiers()) || Modifier.isProtected(k.getModifiers())) || k.isSynthetic()) continue;
                for (Type p : k.getGenericParameterTypes()) check(p, c.getName() + ".<init>", problems);
                members++;
            }
            for (Field f : c.getDeclaredFields()) {
                if (!(Modifier.isPublic(f.getModifiers()) || Modifier.isProtected(f.getModifiers())) || f.isSynthetic()) continue;
                check(f.getGenericType(), c.getName() + "#" + f.getName(), problems);
            }
        }
        assertTrue(members > 80, "expected the facade's members, checked " + members);
        assertEquals(List.of(), problems);
    }

    @Test
    void theCheckCatchesKotlinTypes() throws Exception {
        // the rule itself can fail: a suspend function and a kotlin.time.Duration getter are flagged
        List<String> problems = new ArrayList<>();
        Method suspend = dev.tether.Connection.class.getMethod("send", dev.tether.Frame.class, kotlin.coroutines.Continuation.class);
        for (Type p : suspend.getGenericParameterTypes()) check(p, "send", problems);
        check(kotlin.jvm.functions.Function1.class, "f", problems);
        assertEquals(3, problems.size(), problems.toString()); // Continuation, its Unit, Function1
    }
}
