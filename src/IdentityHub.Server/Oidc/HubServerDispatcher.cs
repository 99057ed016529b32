using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using OpenIddict.Abstractions;
using Microsoft.Extensions.Options;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityHub.Server.Oidc;

/// <summary>
/// OpenIddict's event dispatcher (in place of its <see cref="OpenIddictServerDispatcher"/>), with the same semantics and less
/// work per event. OpenIddict's walks every handler descriptor of the server (some 400) on every event to find those of
/// the event's context type, and resolves every handler and every filter from the request's service scope each time; a
/// request to the token, introspection or userinfo endpoint raises a dozen events. This one keeps, per context type and per
/// handler list (the list of the current <see cref="OpenIddictServerOptions"/>: a new options instance, e.g. after a
/// signing key rotation, gets a new plan), the descriptors of that type in OpenIddict's order, and keeps the instances of
/// handlers and filters that the container holds as singletons (resolved once, from the container, so the very instance
/// OpenIddict would get); scoped and transient ones are resolved per event as before.
/// What stays exactly as in OpenIddict 7.8 (OpenIddictServerDispatcher.DispatchAsync): handlers run in the list's order;
/// a handler's filters are asked just before it runs (after the handlers before it ran, so they see their effects); a
/// handled, skipped or (validating contexts) rejected request stops the event; the same debug log messages.
/// </summary>
public sealed class HubServerDispatcher(
    ILogger<OpenIddictServerDispatcher> logger,
    IOptionsMonitor<OpenIddictServerOptions> options,
    IServiceProvider provider,
    HubServerDispatcher.Plans plans) : IOpenIddictServerDispatcher
{
    public async ValueTask DispatchAsync<TContext>(TContext context) where TContext : BaseContext
    {
        ArgumentNullException.ThrowIfNull(context);
        var steps = plans.For<TContext>(options.CurrentValue.Handlers);
        for (var index = 0; index < steps.Length; index++)
        {
            var step = steps[index];
            if (!await IsActiveAsync(step, context))
            {
                continue;
            }

            var handler = step.Handler ?? Resolve(step);
            try
            {
                await handler.HandleAsync(context);
            }
            catch (Exception exception) when (!IsFatal(exception) && logger.IsEnabled(LogLevel.Debug))
            {
                logger.LogDebug(6132, exception, OpenIddictResources.GetResourceString("ID6132"), handler.GetType().FullName, typeof(TContext).FullName);
                throw;
            }

            if (logger.IsEnabled(LogLevel.Debug))
            {
                logger.LogDebug(6133, OpenIddictResources.GetResourceString("ID6133"), typeof(TContext).FullName, handler.GetType().FullName);
            }

            if (context is not BaseRequestContext request)
            {
                continue;
            }

            if (request.IsRequestHandled)
            {
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    logger.LogDebug(6134, OpenIddictResources.GetResourceString("ID6134"), typeof(TContext).FullName, handler.GetType().FullName);
                }

                return;
            }

            if (request.IsRequestSkipped)
            {
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    logger.LogDebug(6135, OpenIddictResources.GetResourceString("ID6135"), typeof(TContext).FullName, handler.GetType().FullName);
                }

                return;
            }

            if (context is BaseValidatingContext { IsRejected: true })
            {
                if (logger.IsEnabled(LogLevel.Debug))
                {
                    logger.LogDebug(6136, OpenIddictResources.GetResourceString("ID6136"), typeof(TContext).FullName, handler.GetType().FullName);
                }

                return;
            }
        }
    }

    private IOpenIddictServerHandler<TContext> Resolve<TContext>(Step<TContext> step) where TContext : BaseContext =>
        provider.GetService(step.ServiceType) as IOpenIddictServerHandler<TContext>
        ?? throw new InvalidOperationException($"The handler {step.ServiceType} is not registered (OpenIddict ID0098).");

    private async ValueTask<bool> IsActiveAsync<TContext>(Step<TContext> step, TContext context) where TContext : BaseContext
    {
        for (var index = 0; index < step.Filters.Length; index++)
        {
            var filter = step.Filters[index]
                         ?? provider.GetService(step.FilterTypes[index]) as IOpenIddictServerHandlerFilter<TContext>
                         ?? throw new InvalidOperationException($"The filter {step.FilterTypes[index]} is not registered (OpenIddict ID0099).");
            if (!await filter.IsActiveAsync(context))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>As OpenIddict's (internal) OpenIddictHelpers.IsFatal: exceptions that are rethrown without the debug message.</summary>
    private static bool IsFatal(Exception? exception)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        return exception switch
        {
            null => false,
            ThreadAbortException => true,
            OutOfMemoryException and not InsufficientMemoryException => true,
            AggregateException aggregate => aggregate.InnerExceptions.Any(IsFatal),
            _ => IsFatal(exception.InnerException),
        };
    }

    /// <summary>One handler of a plan: its service type, and its instance and its filters' when the container holds them as singletons.</summary>
    public sealed class Step<TContext>(Type serviceType, IOpenIddictServerHandler<TContext>? handler, Type[] filterTypes,
        IOpenIddictServerHandlerFilter<TContext>?[] filters) where TContext : BaseContext
    {
        public Type ServiceType { get; } = serviceType;

        public IOpenIddictServerHandler<TContext>? Handler { get; } = handler;

        public Type[] FilterTypes { get; } = filterTypes;

        public IOpenIddictServerHandlerFilter<TContext>?[] Filters { get; } = filters;
    }

    /// <summary>
    /// The plans of this application (a singleton: per container, never static, so that two servers in one process keep
    /// theirs apart), and which service types the container holds as singletons (from the service collection itself: the
    /// last registration of a type is the one the container resolves).
    /// </summary>
    public sealed class Plans(IServiceProvider root, ServiceLifetimes lifetimes)
    {
        private readonly ConcurrentDictionary<Type, object> _plans = new();

        public Step<TContext>[] For<TContext>(List<OpenIddictServerHandlerDescriptor> descriptors) where TContext : BaseContext
        {
            if (_plans.TryGetValue(typeof(TContext), out var known) && known is Plan<TContext> plan
                && ReferenceEquals(plan.Source, descriptors) && plan.Count == descriptors.Count)
            {
                return plan.Steps;
            }

            var built = new Plan<TContext>(descriptors, descriptors.Count, Build<TContext>(descriptors));
            _plans[typeof(TContext)] = built;
            return built.Steps;
        }

        private Step<TContext>[] Build<TContext>(List<OpenIddictServerHandlerDescriptor> descriptors) where TContext : BaseContext
        {
            var steps = new List<Step<TContext>>();
            foreach (var descriptor in descriptors)
            {
                if (descriptor.ContextType != typeof(TContext))
                {
                    continue;
                }

                var service = descriptor.ServiceDescriptor;
                IOpenIddictServerHandler<TContext>? handler = null;
                if (service.ImplementationInstance is IOpenIddictServerHandler<TContext> instance)
                {
                    handler = instance;
                }
                else if (lifetimes.IsSingleton(service.ServiceType))
                {
                    handler = root.GetService(service.ServiceType) as IOpenIddictServerHandler<TContext>
                              ?? throw new InvalidOperationException($"The handler {service.ServiceType} is not registered (OpenIddict ID0098).");
                }

                var filterTypes = descriptor.FilterTypes.ToArray();
                var filters = new IOpenIddictServerHandlerFilter<TContext>?[filterTypes.Length];
                for (var i = 0; i < filterTypes.Length; i++)
                {
                    if (lifetimes.IsSingleton(filterTypes[i]))
                    {
                        filters[i] = root.GetService(filterTypes[i]) as IOpenIddictServerHandlerFilter<TContext>
                                     ?? throw new InvalidOperationException($"The filter {filterTypes[i]} is not registered (OpenIddict ID0099).");
                    }
                }

                steps.Add(new Step<TContext>(service.ServiceType, handler, filterTypes, filters));
            }

            return [.. steps];
        }

        private sealed record Plan<TContext>(List<OpenIddictServerHandlerDescriptor> Source, int Count, Step<TContext>[] Steps)
            where TContext : BaseContext;
    }

    /// <summary>The lifetimes of the registered services, read from the service collection once it is complete.</summary>
    public sealed class ServiceLifetimes(IServiceCollection services)
    {
        private readonly Lazy<Dictionary<Type, ServiceLifetime>> _lifetimes = new(() =>
        {
            var lifetimes = new Dictionary<Type, ServiceLifetime>();
            foreach (var service in services)
            {
                if (!service.IsKeyedService)
                {
                    // The last registration wins, as for the container's single-service resolution.
                    lifetimes[service.ServiceType] = service.Lifetime;
                }
            }

            return lifetimes;
        });

        public bool IsSingleton(Type type) => _lifetimes.Value.TryGetValue(type, out var lifetime) && lifetime == ServiceLifetime.Singleton;
    }
}
