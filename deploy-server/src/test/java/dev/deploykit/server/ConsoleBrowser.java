package dev.deploykit.server;

import dev.deploykit.Requirements;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.logging.Level;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Headless Chromium (Debian's {@code chromium} and {@code chromium-driver}) for the console tests,
 * with what they need: waiting for text, screenshots, and every error the page's console showed
 * (a test fails on any it did not expect).
 */
final class ConsoleBrowser implements AutoCloseable {
    final ChromeDriver driver;
    private final String base;
    private final List<String> errors = new ArrayList<>();

    ConsoleBrowser(String base) {
        Path chromium = Requirements.tool("chromium", "for the web console tests (apt-get install chromium)");
        Path chromedriver = Requirements.tool("chromedriver", "for the web console tests (apt-get install chromium-driver)");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000", "--disable-gpu",
                "--no-first-run", "--disable-extensions", "--disable-background-networking");
        options.setAcceptInsecureCerts(true); // the test CA's server certificate
        options.setCapability("goog:loggingPrefs", Map.of(LogType.BROWSER, "ALL"));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(chromedriver.toFile()).usingAnyFreePort().build();
        this.driver = new ChromeDriver(service, options);
        this.base = base;
    }

    void open(String path) {
        driver.get(base + path);
    }

    WebElement find(String css) {
        return waitFor(css, e -> true, Duration.ofSeconds(30));
    }

    /** The first element matching {@code css} that {@code ok} accepts, waiting up to {@code timeout}. */
    WebElement waitFor(String css, Predicate<WebElement> ok, Duration timeout) {
        return new WebDriverWait(driver, timeout).ignoring(org.openqa.selenium.StaleElementReferenceException.class)
                .withMessage(() -> css + " on " + driver.getCurrentUrl() + "; the page shows: " + bodyText() + "; its console: " + errors(m -> false))
                .until(d -> d.findElements(By.cssSelector(css)).stream().filter(ok).findFirst().orElse(null));
    }

    /** Waits until the element {@code css} shows text containing {@code text}. */
    WebElement waitForText(String css, String text, Duration timeout) {
        return waitFor(css, e -> e.getText().contains(text), timeout);
    }

    void click(String css) {
        find(css).click();
    }

    void type(String css, String text) {
        WebElement e = find(css);
        e.clear();
        e.sendKeys(text);
    }

    List<WebElement> all(String css) {
        return driver.findElements(By.cssSelector(css));
    }

    String bodyText() {
        try {
            String text = driver.findElement(By.tagName("body")).getText();
            return text.length() > 2000 ? text.substring(0, 2000) + "…" : text;
        } catch (RuntimeException e) {
            return "(unreadable: " + e + ")";
        }
    }

    Object js(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeScript(script, args);
    }

    Object asyncJs(String script, Object... args) {
        return ((JavascriptExecutor) driver).executeAsyncScript(script, args);
    }

    void screenshot(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
    }

    void login(String token) {
        open("/console/");
        type("#token", token);
        click("#login-submit");
        find("#logout");
    }

    void logout() {
        click("#logout");
        find("#token");
    }

    /** The errors the page's console showed since the last call, except those {@code expected} accepts. */
    List<String> errors(Predicate<String> expected) {
        for (LogEntry e : driver.manage().logs().get(LogType.BROWSER)) {
            if (e.getLevel().intValue() >= Level.SEVERE.intValue() && !expected.test(e.getMessage())) {
                errors.add(e.getMessage());
            }
        }
        List<String> out = List.copyOf(errors);
        errors.clear();
        return out;
    }

    WebDriver driver() {
        return driver;
    }

    @Override
    public void close() {
        driver.quit();
    }
}
